#!/usr/bin/env python3
"""Generate the example data set for the reference rulebook (stdlib only, deterministic).

    python examples/generate.py [--seed N] [--out examples/data]

Writes, one JSON object per line:

* dealers.jsonl      — master data + dated history (invoices, shipments, monthly purchases,
                       offences) as of the data horizon; the registry's import format.
* orders.jsonl       — {"point": "order", "facts": {"order": …, "dealer": …}}: the dealer
                       facts are a snapshot *as of the order date* (open invoices only,
                       this month's shipments, the purchase months CR-2 looks at).
* applications.jsonl — new-account applications (NA-1…NA-12).
* incidents.jsonl    — 窜货 incidents with evidence; the dealer snapshot holds the offences
                       known before the incident.
* reviews.jsonl      — FY2025 annual reviews (scorecard + quadrants).
* collections.jsonl  — quarterly collection settlements for 2025-Q4 (year end) and 2026-Q1.

Money is written as strings with 2 decimals. The same seed reproduces the files byte for byte.
"""

from __future__ import annotations

import argparse
import calendar
import json
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HORIZON = date(2026, 6, 30)          # last day of recorded history
HISTORY_FROM = date(2024, 1, 1)      # first purchase month kept in the data
ORDERS_FROM = date(2025, 7, 1)       # orders span 2025-07-01 … 2026-06-30
N_DEALERS = 200
N_ORDERS = 3000
N_APPLICATIONS = 120
FY = 2025

REGIONS = {
    "华东": ["JS", "ZJ", "SH", "AH", "SD"],
    "华南": ["GD", "GX", "FJ", "HI"],
    "华北": ["BJ", "TJ", "HE", "SX", "NM"],
    "华中": ["HB", "HN", "HA", "JX"],
    "西南": ["SC", "CQ", "YN", "GZ"],
    "西北": ["SN", "GS", "NX", "XJ"],
    "东北": ["LN", "JL", "HL"],
}
TIER_MONTHLY = {"county": (60_000, 160_000), "prefecture": (220_000, 420_000), "province": (1_500_000, 2_600_000)}
DEPOSIT_FLOOR = {"county": 20_000, "prefecture": 50_000, "province": 200_000}
CREDIT_PERIOD = {"AAA": 60, "AA": 45, "A": 30, "B": 15, "C": 0}
CREDIT_COEF = {"AAA": Decimal("1.5"), "AA": Decimal("1.0"), "A": Decimal("0.8"), "B": Decimal("0.6"), "C": Decimal(0)}
NAME_HEADS = ["恒", "盛", "鑫", "隆", "泰", "丰", "华", "源", "达", "通", "瑞", "祥", "福", "兴", "利", "宏", "金", "鼎"]
NAME_TAILS = ["商贸有限公司", "贸易有限公司", "酒业有限公司", "食品有限公司", "供应链有限公司", "商行"]


# ---------------------------------------------------------------------------- helpers
def money(x) -> str:
    return str(Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def yuan(x) -> Decimal:
    return Decimal(x).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def months(start: date, end: date):
    d = month_start(start)
    while d <= end:
        yield d
        d = add_months(d, 1)


def rand_date(rng: random.Random, a: date, b: date) -> date:
    return a + timedelta(days=rng.randint(0, (b - a).days))


def pick(rng: random.Random, weighted: dict):
    r = rng.random() * sum(weighted.values())
    for k, w in weighted.items():
        r -= w
        if r < 0:
            return k
    return k


def dump(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


# ---------------------------------------------------------------------------- dealers
class Dealer:
    """One dealer with its full simulated history (kept in Python types until written)."""

    def __init__(self, rng: random.Random, i: int):
        self.id = f"D{i:04d}"
        self.tier = pick(rng, {"county": 55, "prefecture": 35, "province": 10})
        self.region = rng.choice(sorted(REGIONS))
        prov = rng.choice(REGIONS[self.region])
        if self.tier == "province":
            self.territories = [{"code": prov, "exclusive": True}]
        elif self.tier == "prefecture":
            self.territories = [{"code": f"{prov}-{rng.randint(1, 15):02d}", "exclusive": rng.random() < 0.5}]
        else:
            pref = f"{prov}-{rng.randint(1, 15):02d}"
            self.territories = [{"code": f"{pref}-{rng.randint(1, 12):02d}", "exclusive": rng.random() < 0.3}
                                for _ in range(rng.choice([1, 1, 2]))]
            seen, uniq = set(), []
            for t in self.territories:
                if t["code"] not in seen:
                    seen.add(t["code"])
                    uniq.append(t)
            self.territories = uniq
        self.name = rng.choice(NAME_HEADS) + rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS)
        age = pick(rng, {"new3": 4, "new12": 8, "mid": 38, "old": 50})
        if age == "new3":
            self.first_shipment = rand_date(rng, date(2026, 3, 1), date(2026, 5, 31))
        elif age == "new12":
            self.first_shipment = rand_date(rng, date(2025, 7, 1), date(2026, 2, 28))
        elif age == "mid":
            self.first_shipment = rand_date(rng, date(2021, 1, 1), date(2025, 6, 30))
        else:
            self.first_shipment = rand_date(rng, date(2012, 1, 1), date(2020, 12, 31))
        self.contract_start = self.first_shipment - timedelta(days=rng.randint(10, 60))
        months_trading = (HORIZON.year - self.first_shipment.year) * 12 + HORIZON.month - self.first_shipment.month
        if months_trading < 12:
            self.grade = "C" if rng.random() < 0.7 else None
        else:
            self.grade = pick(rng, {"AAA": 8, "AA": 20, "A": 35, "B": 25, "C": 12})
        self.security = pick(rng, {"none": 70, "collateral": 20, "guarantee": 10})
        lo, hi = TIER_MONTHLY[self.tier]
        self.base = rng.randint(lo, hi)
        # payment behaviour: days paid after the due date (negative = early)
        self.payer = pick(rng, {"prompt": 67, "slow": 22, "late": 9, "bad": 2})
        self.busy = rng.random() < 0.06          # ships more than 4 times a month now and then
        self.status = "active"
        self.suspended_on: date | None = None
        self.monthly: dict[date, Decimal] = {}
        self.shipments: list[tuple[date, Decimal]] = []
        self.invoices: list[dict] = []
        self.offences: list[dict] = []
        self.credit_share = Decimal(0) if self.grade in (None, "C") else Decimal(rng.choice([50, 70, 80, 90, 100])) / 100
        annual = self.base * 12
        self.deposit_required = max(yuan(Decimal(annual) / 10), Decimal(DEPOSIT_FLOOR[self.tier]))
        self.deposit_balance = self.deposit_required
        self.deposit_deducted: date | None = None
        self._simulate(rng)

    # -- history ---------------------------------------------------------------
    def _pay_delay(self, rng: random.Random) -> int | None:
        if self.payer == "prompt":
            return rng.randint(-9, 0)
        if self.payer == "slow":
            return rng.choice([rng.randint(-5, 0), rng.randint(1, 12), rng.randint(5, 25)])
        if self.payer == "late":
            return rng.choice([rng.randint(0, 10), rng.randint(10, 45), rng.randint(30, 75)])
        return rng.choice([rng.randint(20, 60), rng.randint(55, 110), rng.randint(80, 140), None])

    def _simulate(self, rng: random.Random) -> None:
        start = max(self.first_shipment, HISTORY_FROM)
        season = {1: 1.3, 2: 0.7, 3: 0.9, 4: 0.95, 5: 1.0, 6: 1.0, 7: 0.9, 8: 0.95, 9: 1.15, 10: 1.1, 11: 1.0, 12: 1.25}
        for m in months(start, HORIZON):
            first = max(m, self.first_shipment)
            if rng.random() < 0.05 and m > self.first_shipment:
                self.monthly[m] = Decimal(0)
                continue
            n = rng.choice([1, 2, 2, 3, 3, 4]) + (rng.choice([1, 2]) if self.busy and rng.random() < 0.5 else 0)
            days = sorted(rand_date(rng, first, month_end(m)) for _ in range(n))
            total = Decimal(0)
            for d in days:
                amt = yuan(Decimal(self.base) * Decimal(str(season[m.month])) / n * Decimal(str(rng.uniform(0.6, 1.4))))
                self.shipments.append((d, amt))
                total += amt
            self.monthly[m] = total
            credit_amt = yuan(total * self.credit_share)
            if credit_amt > 0:
                inv_date = month_end(m)
                due = date(add_months(m, 1).year, add_months(m, 1).month, 10)     # PC-1
                delay = self._pay_delay(rng)
                paid = None if delay is None else due + timedelta(days=delay)
                if paid is not None and paid <= inv_date:
                    paid = inv_date + timedelta(days=rng.randint(1, 5))
                self.invoices.append({"invoice_id": f"{self.id}-{inv_date:%Y%m}", "invoice_date": inv_date,
                                      "due_date": due, "amount": credit_amt, "paid_date": paid})

    def limit_on(self, d: date) -> Decimal:
        """CR-2, mirrored here only to steer the example distribution (the engine decides)."""
        g = self.grade or "C"
        set_on = date(d.year, 1 if d.month <= 6 else 7, 1)
        window = [a for m, a in self.monthly.items() if add_months(set_on, -12) <= m < set_on and a > 0]
        avg = sum(window) / len(window) if window else Decimal(0)
        lim = yuan(avg * CREDIT_PERIOD[g] / 30 * CREDIT_COEF[g])
        return min(lim, Decimal(600_000)) if self.security == "none" else lim

    def open_invoices(self, d: date) -> list[dict]:
        return [i for i in self.invoices if i["invoice_date"] < d and (i["paid_date"] is None or i["paid_date"] > d)]

    def receivables(self, d: date) -> Decimal:
        open_amt = sum((i["amount"] for i in self.open_invoices(d)), Decimal(0))
        mtd = sum((a for s, a in self.shipments if month_start(d) <= s < d), Decimal(0))
        return open_amt + yuan(mtd * self.credit_share)

    # -- JSON ------------------------------------------------------------------
    def master(self) -> dict:
        out = {"id": self.id, "name": self.name, "tier": self.tier, "region": self.region,
               "territories": self.territories, "status": self.status}
        if self.grade:
            out["credit_grade"] = self.grade
        out["credit_security"] = self.security
        out["first_shipment_date"] = self.first_shipment.isoformat()
        out["contract_start_date"] = self.contract_start.isoformat()
        out["deposit_required"] = money(self.deposit_required)
        out["deposit_balance"] = money(self.deposit_balance)
        if self.deposit_deducted:
            out["deposit_deducted_date"] = self.deposit_deducted.isoformat()
        return out

    def invoice_json(self, inv: dict, as_of: date | None = None) -> dict:
        paid = inv["paid_date"]
        if as_of is not None and paid is not None and paid > as_of:
            paid = None
        out = {"invoice_id": inv["invoice_id"], "invoice_date": inv["invoice_date"].isoformat(),
               "due_date": inv["due_date"].isoformat(), "amount": money(inv["amount"]),
               "paid_amount": money(inv["amount"] if paid else 0)}
        if paid:
            out["paid_date"] = paid.isoformat()
        return out

    def offence_json(self, o: dict) -> dict:
        out = {"incident_id": o["incident_id"], "offence_date": o["offence_date"].isoformat(),
               "confirmed": o["confirmed"]}
        if o["confirmed"]:
            out["confirmed_date"] = o["confirmed_date"].isoformat()
            out["level"] = o["level"]
            out["fine"] = money(o["fine"])
        out["goods_value"] = money(o["goods_value"])
        out["policy_version"] = o["policy_version"]
        return out

    def registry(self) -> dict:
        out = self.master()
        out["receivables"] = money(self.receivables(HORIZON + timedelta(days=1)))
        out["unshipped_approved"] = money(0)
        out["invoices"] = [self.invoice_json(i) for i in self.invoices]
        out["offences"] = [self.offence_json(o) for o in self.offences]
        out["shipments"] = [{"ship_date": d.isoformat(), "amount": money(a)} for d, a in self.shipments]
        out["monthly_purchases"] = [{"month": m.isoformat(), "amount": money(a)} for m, a in sorted(self.monthly.items())]
        return out


# ---------------------------------------------------------------------------- offences / incidents
EVIDENCE_STRONG = [["staff_code_scan", "test_purchase_receipt"], ["staff_code_scan", "dated_photo_location"],
                   ["staff_code_scan", "buyer_document", "tip"], ["staff_code_scan", "test_purchase_receipt", "consumer_scan"]]
EVIDENCE_WEAK = [["consumer_scan"], ["tip"], ["screenshot", "tip"], ["consumer_scan", "consumer_scan", "screenshot"]]


def level_for(priors: int, aggravated: bool) -> str:
    base = 1 if priors == 0 else 2 if priors == 1 else 3
    return f"L{min(3, base + (1 if aggravated else 0))}"


def make_incidents(rng: random.Random, dealers: list[Dealer]) -> list[dict]:
    """Simulate 窜货 cases in date order; confirmed ones become the dealers' offence records."""
    cases = []
    prone = [d for d in dealers if d.first_shipment < date(2025, 1, 1)]
    offenders = rng.sample(prone, 34)
    repeaters = set(d.id for d in offenders[:9])
    n = 0
    for d in offenders:
        k = rng.randint(2, 3) if d.id in repeaters else 1
        for date_ in sorted(rand_date(rng, date(2025, 1, 5), date(2026, 6, 10)) for _ in range(k)):
            n += 1
            cases.append((date_, n, d))
    # a few older confirmed offences (2024) so that the 12-month window matters
    history = []
    for d in rng.sample(offenders, 8):
        history.append((rand_date(rng, date(2024, 2, 1), date(2024, 12, 20)), d))
    for od, d in sorted(history, key=lambda x: (x[0], x[1].id)):
        gv = Decimal(rng.randint(20, 160) * 1000)
        d.offences.append({"incident_id": f"X{od:%Y%m%d}{d.id[1:]}", "offence_date": od, "confirmed": True,
                           "confirmed_date": od + timedelta(days=rng.randint(8, 20)), "level": "L1",
                           "goods_value": gv, "fine": max(Decimal(20000), yuan(gv * Decimal("0.3"))),
                           "policy_version": "2024.1"})
    out = []
    for od, n, d in sorted(cases, key=lambda c: (c[0], c[1])):
        iid = f"I{od:%Y%m}-{n:03d}"
        kind = pick(rng, {"territory": 52, "channel": 14, "transfer": 12, "code_tamper": 8, "low_price": 14})
        ev_kind = pick(rng, {"strong": 62, "weak": 20, "trace_only": 10, "batch": 8})
        codes_intact = kind != "code_tamper" and ev_kind != "batch"
        if ev_kind == "strong":
            kinds = rng.choice(EVIDENCE_STRONG)
        elif ev_kind == "weak":
            kinds = rng.choice(EVIDENCE_WEAK)
        elif ev_kind == "trace_only":
            kinds = ["staff_code_scan", "consumer_scan"]
        else:
            kinds = ["exclusive_batch", "test_purchase_receipt"]
        evidence = []
        for k in kinds:
            e = {"kind": k, "obtained_date": (od - timedelta(days=rng.randint(0, 3))).isoformat()}
            if k in ("staff_code_scan", "exclusive_batch"):
                e["resolves_to_dealer"] = True
            evidence.append(e)
        gv = Decimal(rng.choice([rng.randint(8, 60), rng.randint(40, 190), rng.randint(150, 420)]) * 1000)
        npp = Decimal(rng.choice([486, 620, 819, 1150]))
        resale = npp * Decimal(str(rng.choice([1.15, 1.05, 1.1, 0.95, 1.2, 1.08])))
        territory_breach = kind != "low_price" or rng.random() < 0.4
        incident = {"id": iid, "dealer_id": d.id, "offence_date": od.isoformat(), "kind": kind,
                    "found_territory": f"{rng.choice(REGIONS[rng.choice(sorted(REGIONS))])}-{rng.randint(1, 15):02d}",
                    "territory_breach": territory_breach, "codes_intact": codes_intact, "evidence": evidence,
                    "goods_value": money(gv), "resale_price": money(resale), "net_purchase_price": money(npp)}
        if kind == "transfer":
            incident["transfer_approved"] = rng.random() < 0.25
        if kind == "low_price" or rng.random() < 0.1:
            incident["guide_price"] = money(npp * Decimal("1.1"))
        appeal = pick(rng, {"none_filed": 58, "rejected": 22, "window_open": 8, "not_notified": 6, "upheld": 6})
        incident["appeal_status"] = appeal
        if appeal != "not_notified":
            incident["notice_date"] = (od + timedelta(days=rng.randint(2, 6))).isoformat()
        # would this be confirmed? (mirror of XR-1/XR-2/XR-3, only to build consistent histories)
        is_offence = (kind in ("territory", "channel", "code_tamper")
                      or (kind == "transfer" and not incident.get("transfer_approved"))
                      or (kind == "low_price" and territory_breach))
        confirmed = is_offence and ev_kind in ("strong", "batch") and appeal in ("none_filed", "rejected")
        snapshot = d.master()
        snapshot["offences"] = [d.offence_json(o) for o in d.offences]
        out.append({"point": "incident", "facts": {"incident": incident, "dealer": snapshot}})
        priors = sum(1 for o in d.offences if o["confirmed"] and add_months(od, -12) <= o["offence_date"] < od)
        aggravated = (not codes_intact) or gv >= (100_000 if od.year == 2025 else 200_000) or resale < npp
        level = level_for(priors, aggravated)
        version = "2025.1" if od.year == 2025 else "2026.1"
        lo, rate = ((20000, "0.3") if version == "2025.1" else (10000, "0.2")) if level == "L1" else \
                   ((50000, "0.6") if version == "2025.1" else (30000, "0.5"))
        fine = max(Decimal(lo), yuan(gv * Decimal(rate))) if level != "L3" else d.deposit_balance
        rec = {"incident_id": iid, "offence_date": od, "confirmed": confirmed, "goods_value": gv,
               "policy_version": version}
        if confirmed:
            rec.update(confirmed_date=od + timedelta(days=rng.randint(8, 15)), level=level, fine=fine)
            cd = rec["confirmed_date"]
            if level == "L3":
                d.status, d.suspended_on = "suspended", cd
                d.deposit_balance = Decimal(0)
                d.deposit_deducted = cd
            elif cd >= date(2026, 5, 1):   # fine deducted recently, not yet restored
                d.deposit_balance = max(Decimal(0), d.deposit_balance - fine)
                d.deposit_deducted = cd
        d.offences.append(rec)
    return out


# ---------------------------------------------------------------------------- orders
def make_orders(rng: random.Random, dealers: list[Dealer]) -> list[dict]:
    # bad payers with a very old unpaid invoice are suspended (CR-5 ≥ 91) before the horizon
    for d in dealers:
        for inv in d.invoices:
            if inv["paid_date"] is None and (date(2026, 4, 1) - inv["due_date"]).days >= 91 and d.status == "active":
                if rng.random() < 0.5:
                    d.status, d.suspended_on = "suspended", inv["due_date"] + timedelta(days=95)
    if not any(d.status == "terminated" for d in dealers):
        t = dealers[rng.randrange(len(dealers))]
        t.status, t.suspended_on = "terminated", date(2026, 2, 1)
    candidates = []
    for d in dealers:
        for s, a in d.shipments:
            if s >= ORDERS_FROM:
                if d.suspended_on is not None and s >= d.suspended_on and rng.random() < 0.8:
                    continue          # a suspended dealer mostly stops ordering
                candidates.append((s, d, a))
    candidates.sort(key=lambda c: (c[0], c[1].id))
    chosen = sorted(rng.sample(range(len(candidates)), min(N_ORDERS, len(candidates))))
    rows = []
    for n, idx in enumerate(chosen, 1):
        od, d, amt = candidates[idx]
        if rng.random() < 0.03:
            amt = Decimal(rng.randint(3, 19) * 1000 + rng.choice([0, 500]))     # small order (CR-6)
        amt_text = money(amt + (Decimal(rng.randint(0, 99)) / 100 if rng.random() < 0.1 else 0))
        status = d.status if (d.suspended_on is None or od >= d.suspended_on) else "active"
        limit = d.limit_on(od)
        recv = d.receivables(od)
        unshipped = yuan(Decimal(d.base) * Decimal(str(rng.choice([0, 0, 0, 0.1, 0.2, 0.3]))))
        exposure = recv + unshipped + Decimal(amt_text)
        eligible = d.grade in ("AAA", "AA", "A", "B") and add_months(d.first_shipment, 12) <= od
        if eligible and exposure <= limit:
            payment = "credit" if rng.random() < 0.85 else "prepaid"
        elif eligible:
            payment = "credit" if rng.random() < 0.12 else "prepaid"
        else:
            payment = "credit" if rng.random() < 0.08 else "prepaid"
        pay_method = pick(rng, {"bank_transfer": 80, "bank_acceptance": 19, "cash_to_staff": 1})
        codes = [t["code"] for t in d.territories]
        order = {"id": f"SO{od:%y%m%d}{n:05d}", "dealer_id": d.id, "date": od.isoformat(), "amount": amt_text,
                 "payment": payment, "pay_method": pay_method}
        if rng.random() < 0.02:
            order["ship_to_territory"] = f"{rng.choice(REGIONS[d.region])}-{rng.randint(16, 20):02d}"
            if rng.random() < 0.5:
                order["cross_territory_approved"] = True
        else:
            order["ship_to_territory"] = rng.choice(codes)
        snap = d.master()
        snap["status"] = status
        if d.deposit_deducted and od < d.deposit_deducted:
            snap["deposit_balance"] = money(d.deposit_required)
            snap.pop("deposit_deducted_date", None)
        snap["receivables"] = money(recv)
        snap["unshipped_approved"] = money(unshipped)
        snap["invoices"] = [d.invoice_json(i, as_of=od) for i in d.open_invoices(od)]
        snap["shipments"] = [{"ship_date": s.isoformat(), "amount": money(a)}
                             for s, a in d.shipments if month_start(od) <= s < od]
        set_on = date(od.year, 1 if od.month <= 6 else 7, 1)
        snap["monthly_purchases"] = [{"month": m.isoformat(), "amount": money(a)} for m, a in sorted(d.monthly.items())
                                     if add_months(set_on, -12) <= m < set_on]
        rows.append({"point": "order", "facts": {"order": order, "dealer": snap}})
    return rows


# ---------------------------------------------------------------------------- applications
CATEGORY_LICENCE = {"drug": "drug_distribution", "food": "food_business", "liquor": "food_business",
                    "pesticide": "pesticide_business"}


def make_applications(rng: random.Random, dealers: list[Dealer]) -> list[dict]:
    std = {"county": (500_000, 150, 2, 3, 2, 100_000), "prefecture": (1_000_000, 300, 3, 5, 2, 300_000),
           "province": (5_000_000, 1000, 8, 15, 3, 2_000_000)}
    rows = []
    for n in range(1, N_APPLICATIONS + 1):
        app_date = rand_date(rng, date(2025, 9, 1), date(2026, 6, 20))
        tier = pick(rng, {"county": 60, "prefecture": 32, "province": 8})
        region = rng.choice(sorted(REGIONS))
        prov = rng.choice(REGIONS[region])
        code = prov if tier == "province" else f"{prov}-{rng.randint(1, 15):02d}" if tier == "prefecture" \
            else f"{prov}-{rng.randint(1, 15):02d}-{rng.randint(1, 12):02d}"
        category = pick(rng, {"liquor": 40, "food": 25, "household": 12, "appliance": 10, "drug": 8, "pesticide": 5})
        cap, wh, veh, reps, yrs, first = std[tier]
        profile = pick(rng, {"clean": 45, "docs": 17, "one_soft": 14, "two_soft": 6, "hard": 10, "unpaid": 8})
        up = lambda x, r=rng: x * Decimal(str(r.choice([1, 1.2, 1.5, 2, 3])))  # noqa: E731
        a = {"id": f"APP{app_date:%y%m}-{n:03d}", "date": app_date.isoformat(),
             "applicant_name": rng.choice(NAME_HEADS) + rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS),
             "tier": tier, "region": region, "territory_code": code, "category": category,
             "business_licence_valid_until": add_months(app_date, rng.randint(12, 240)).isoformat(),
             "business_scope_covers": True}
        if category in CATEGORY_LICENCE:
            lic = CATEGORY_LICENCE[category]
            if category in ("food", "liquor") and rng.random() < 0.3:
                lic = "prepackaged_food_filing"
            a["category_licence"] = lic
            a["category_licence_valid_until"] = add_months(app_date, rng.randint(6, 60)).isoformat()
            if category == "drug":
                a["gsp_compliant"] = True
        a.update({"on_defaulter_list": False, "supplier_lawsuits": [], "unpaid_bad_debt": money(0),
                  "territory_exclusive_holder": False, "active_dealers_in_territory": rng.choice([0, 0, 1])})
        a.update({"registered_capital": money(up(Decimal(cap))), "capital_paid_in": rng.random() < 0.6,
                  "capital_verified": True,
                  "warehouse_m2": str(int(up(Decimal(wh)))), "warehouse_verified": True,
                  "vehicles": veh + rng.randint(0, 3), "vehicles_verified": True,
                  "reps": reps + rng.randint(0, 4), "reps_verified": True,
                  "established_date": add_months(app_date, -12 * (yrs + rng.randint(0, 10)) - rng.randint(0, 11)).isoformat(),
                  "established_verified": True})
        annual = Decimal(first) * Decimal(rng.choice([3, 4, 5, 6]))
        deposit = max(yuan(annual / 10), Decimal({"county": 20_000, "prefecture": 50_000, "province": 200_000}[tier]))
        a.update({"annual_contracted_purchase": money(annual), "first_payment_received": money(first),
                  "first_payment_method": "bank_transfer", "deposit_received": money(deposit)})
        soft = ["capital", "warehouse", "vehicles", "reps", "years"]
        if profile == "docs":
            for k in rng.sample(["capital_verified", "warehouse_verified", "vehicles_verified", "reps_verified",
                                 "established_verified"], rng.choice([1, 1, 2])):
                if rng.random() < 0.5:
                    a[k] = False
                else:
                    del a[k]
        elif profile in ("one_soft", "two_soft"):
            for k in rng.sample(soft, 1 if profile == "one_soft" else 2):
                if k == "capital":
                    a["registered_capital"] = money(Decimal(cap) * Decimal("0.6"))
                elif k == "warehouse":
                    a["warehouse_m2"] = str(int(wh * 0.7))
                elif k == "vehicles":
                    a["vehicles"] = veh - 1
                elif k == "reps":
                    a["reps"] = reps - rng.randint(1, 2)
                else:
                    a["established_date"] = add_months(app_date, -12 * yrs + rng.randint(1, 10)).isoformat()
        elif profile == "hard":
            why = pick(rng, {"licence": 3, "defaulter": 2, "lawsuit": 2, "exclusive": 3, "crowded": 2, "baddebt": 1})
            if why == "licence":
                if "category_licence" in a and rng.random() < 0.6:
                    a["category_licence_valid_until"] = (app_date - timedelta(days=rng.randint(1, 200))).isoformat()
                else:
                    a["business_licence_valid_until"] = (app_date - timedelta(days=rng.randint(1, 90))).isoformat()
            elif why == "defaulter":
                a["on_defaulter_list"] = True
            elif why == "lawsuit":
                a["supplier_lawsuits"] = [{"judgment_date": add_months(app_date, -rng.randint(3, 23)).isoformat(),
                                           "lost": True}]
            elif why == "exclusive":
                a["territory_exclusive_holder"] = True
                a["active_dealers_in_territory"] = 1
            elif why == "crowded":
                a["active_dealers_in_territory"] = 2
            else:
                a["unpaid_bad_debt"] = money(rng.randint(20, 300) * 1000)
        elif profile == "unpaid":
            if rng.random() < 0.5:
                a["deposit_received"] = money(0)
            else:
                a["first_payment_received"] = money(Decimal(first) / 2)
        if rng.random() < 0.15 and profile == "clean":    # an old lawsuit outside the 24-month window
            a["supplier_lawsuits"] = [{"judgment_date": add_months(app_date, -rng.randint(25, 60)).isoformat(),
                                       "lost": True}]
        rows.append({"point": "application", "facts": {"application": a}})
    rows.sort(key=lambda r: (r["facts"]["application"]["date"], r["facts"]["application"]["id"]))
    return rows


# ---------------------------------------------------------------------------- reviews / collections
def make_reviews(rng: random.Random, dealers: list[Dealer]) -> list[dict]:
    start, end = date(FY, 1, 1), date(FY, 12, 31)
    rows = []
    for d in dealers:
        if d.first_shipment > date(FY, 6, 30):
            continue
        actual = sum((a for m, a in d.monthly.items() if start <= m <= end), Decimal(0))
        ach = Decimal(str(max(0.3, rng.gauss(1.03, 0.14))))
        target = yuan(actual / ach / 10000) * 10000
        coll_rate = Decimal(str(min(1.15, max(0.6, rng.gauss(0.97, 0.07)))))
        ctarget = yuan(actual * Decimal("0.95") / 10000) * 10000
        ship_dates = sorted(s for s, _ in d.shipments if start <= s <= end)
        first = max(start, d.first_shipment)
        gaps = [(b - a).days for a, b in zip([first, *ship_dates], [*ship_dates, end])]
        r = {"dealer_id": d.id, "fiscal_year": FY, "period_start": start.isoformat(), "period_end": end.isoformat(),
             "review_date": date(FY + 1, 1, rng.choice([8, 10, 12, 14, 15, 15, 20])).isoformat(),
             "sales_target": money(target), "sales_actual": money(actual),
             "collection_target": money(ctarget), "collected": money(yuan(ctarget * coll_rate)),
             "outlet_coverage": f"{rng.randint(30, 98)}%", "reps": max(0, {"county": 3, "prefecture": 5, "province": 15}[d.tier] + rng.randint(-2, 3)),
             "promotion_executed": f"{rng.randint(55, 100)}%", "complaints_closed_48h": f"{rng.randint(70, 100)}%",
             "weekly_reports_on_time": f"{rng.randint(60, 100)}%", "net_purchases": money(actual * Decimal("0.97")),
             "brand_share": f"{rng.choice([8, 15, 25, 35, 45, 55, 60, 70, 80])}%",
             "tenure_years": max(0, (end - d.first_shipment).days // 365),
             "competing_brands": rng.choice([0, 0, 0, 0, 1, 2]),
             "previous_grade": pick(rng, {"A": 25, "B": 45, "C": 22, "D": 3}),
             "previous_quadrant": pick(rng, {"treasure": 25, "watch": 20, "star": 30, "eliminate": 10}),
             "last_purchase_date": (ship_dates[-1] if ship_dates else start).isoformat(),
             "longest_purchase_gap_days": max(gaps) if gaps else 365, "counterfeit_found": rng.random() < 0.01}
        if rng.random() < 0.05:
            del r["sales_target"]                       # EV-6 → pending_review
        if rng.random() < 0.05:
            del r[rng.choice(["outlet_coverage", "promotion_executed", "weekly_reports_on_time"])]  # EV-6b
        snap = d.master()
        snap["invoices"] = [d.invoice_json(i, as_of=date(FY + 1, 1, 10)) for i in d.invoices
                            if i["invoice_date"] < date(FY + 1, 1, 1) and i["due_date"] >= date(FY - 1, 6, 1)]
        snap["offences"] = [d.offence_json(o) for o in d.offences if o["offence_date"] <= end]
        rows.append({"point": "review", "facts": {"review": r, "dealer": snap}})
    return rows


def make_collections(rng: random.Random, dealers: list[Dealer]) -> list[dict]:
    rows = []
    for qs, qe in ((date(2025, 10, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 3, 31))):
        for d in dealers:
            if d.first_shipment > qs:
                continue
            pays = [i for i in d.invoices if i["paid_date"] and qs <= i["paid_date"] <= qe]
            sales = sum((a for m, a in d.monthly.items() if qs <= m <= qe), Decimal(0))
            if sales == 0:
                continue
            ach = Decimal(str(max(0.5, rng.gauss(1.02, 0.1))))
            c = {"dealer_id": d.id, "quarter_start": qs.isoformat(), "quarter_end": qe.isoformat(),
                 "rebate_base": money(yuan(sales * Decimal("0.02"))),
                 "sales_target": money(yuan(sales / ach / 1000) * 1000), "sales_actual": money(sales),
                 "payments": [{"invoice_id": i["invoice_id"], "invoice_date": i["invoice_date"].isoformat(),
                               "payment_date": i["paid_date"].isoformat(), "amount": money(i["amount"])} for i in pays]}
            if not pays:   # prepaid-only dealer: payments at order time
                c["payments"] = [{"invoice_id": f"{d.id}-{s:%Y%m%d}", "invoice_date": s.isoformat(),
                                  "payment_date": s.isoformat(), "amount": money(a)}
                                 for s, a in d.shipments if qs <= s <= qe][:6]
            if qe.month == 12:
                year_sales = sum((a for m, a in d.monthly.items() if m.year == qe.year), Decimal(0))
                tgt = yuan(year_sales * Decimal("0.9") / 10000) * 10000
                if rng.random() > 0.04:                  # PC-3: target missing → pending_review
                    c["annual_collection_target"] = money(tgt)
                c["annual_collected"] = money(yuan(tgt * Decimal(str(min(1.3, max(0.4, rng.gauss(0.98, 0.15)))))))
            snap = d.master()
            snap["invoices"] = [d.invoice_json(i, as_of=qe) for i in d.invoices
                                if i["invoice_date"] <= qe and i["due_date"] >= add_months(qs, -4)]
            snap["offences"] = [d.offence_json(o) for o in d.offences if o["offence_date"] <= qe]
            rows.append({"point": "collection", "facts": {"collection": c, "dealer": snap}})
    return rows


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "data"))
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dealers = [Dealer(rng, i) for i in range(1, N_DEALERS + 1)]
    incidents = make_incidents(rng, dealers)
    orders = make_orders(rng, dealers)
    applications = make_applications(rng, dealers)
    reviews = make_reviews(rng, dealers)
    collections = make_collections(rng, dealers)
    dump(out / "dealers.jsonl", [d.registry() for d in dealers])
    dump(out / "orders.jsonl", orders)
    dump(out / "applications.jsonl", applications)
    dump(out / "incidents.jsonl", incidents)
    dump(out / "reviews.jsonl", reviews)
    dump(out / "collections.jsonl", collections)
    for name, rows in [("dealers", dealers), ("orders", orders), ("applications", applications),
                       ("incidents", incidents), ("reviews", reviews), ("collections", collections)]:
        print(f"{name:13s} {len(rows):5d}")


if __name__ == "__main__":
    main()
