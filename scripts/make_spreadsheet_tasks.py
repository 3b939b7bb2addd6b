#!/usr/bin/env python3
"""Generate evalharness's built-in spreadsheet tasks (tasks/spreadsheet/) and verify them.

Why: evalharness needs spreadsheet-manipulation tasks it may ship, whose answers are certainly right,
in exactly SpreadsheetBench's format so that one adapter and one comparator
(``evalharness.adapters.spreadsheet.compare``) score both. The tasks here are original: made up for
evalharness, not taken from SpreadsheetBench.

How: each task is one function below returning a ``Task``: the instruction, the answer position, a gold
solution program (reads ``input.xlsx`` and writes ``output.xlsx`` in the current directory, with plain
openpyxl so it runs on both openpyxl 3.1 and the sandbox's 3.0) and a builder of random input
workbooks. Test case ``k`` of task ``id`` is built from ``random.Random(f"{id}/{k}")``, so the data are
deterministic; the answer workbook is what the gold program makes of that input on the host, so it is
right by construction. Zip entry dates and document timestamps are pinned, so regenerating on the same
machine gives identical bytes.

Verification, per test case (the exit status is 1 when anything fails):
  - the answer compared with itself passes;
  - the untouched input compared with the answer fails (otherwise the task would be trivial);
  - the answer differs from every other case's answer (so hard-coded values cannot pass all cases);
  - every cell the gold program changes lies inside ``answer_position``;
  - the gold program, run in the sandbox image (older openpyxl and pandas), makes an output that passes.

Usage (with the project installed, ``pip install -e .``, and the sandbox image built):
    python3 scripts/make_spreadsheet_tasks.py [--image evalharness/python:latest] [--jobs 6]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import get_column_letter

from evalharness.adapters.spreadsheet.compare import (
    CaseResult,
    cell_names,
    cells_equal,
    compare_workbooks,
    parse_answer_position,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tasks" / "spreadsheet"
CELL = "Cell-Level Manipulation"
SHEET = "Sheet-Level Manipulation"
PINNED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
PINNED_CORE_TIME = b"2025-01-01T00:00:00Z"
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")

Rows = list[list[Any]]
Builder = Callable[[random.Random], Workbook]


@dataclass(frozen=True)
class Task:
    id: str
    instruction_type: str
    instruction: str
    answer_position: str
    solution_code: str
    build: Builder
    cases: int = 3


TASKS: list[Callable[[], Task]] = []


def task(fn: Callable[[], Task]) -> Callable[[], Task]:
    TASKS.append(fn)
    return fn


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def workbook(sheets: dict[str, Rows]) -> Workbook:
    """A workbook with one sheet per entry, in order; ``None`` leaves a cell empty."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(r, c).value = value
    return wb


# ----------------------------------------------------------------------------------------------------
# Shared random data

FIRST_NAMES = ["Alice", "Bruno", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Irene", "Jonas",
               "Keiko", "Liam", "Maya", "Nikhil", "Olivia", "Pablo", "Quinn", "Rosa", "Samuel", "Tara",
               "Umar", "Vera", "Wesley", "Ximena", "Yusuf", "Zoe"]
LAST_NAMES = ["Adams", "Baker", "Castro", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
              "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quintero", "Rossi", "Schmidt",
              "Tanaka", "Ueda", "Varga", "Weber", "Yilmaz", "Zhang"]
PRODUCTS = ["Desk Lamp", "Office Chair", "Notebook", "Stapler", "Monitor Stand", "Keyboard", "Mouse Pad",
            "Webcam", "Headset", "Printer Paper", "Whiteboard", "Desk Organizer", "USB Hub", "Label Maker"]
DEPARTMENTS = ["Engineering", "Finance", "Facilities", "Human Resources", "Legal", "Logistics", "Marketing",
               "Operations", "Procurement", "Quality", "Research", "Sales", "Security", "Support", "Training"]


def people(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` distinct (first, last) name pairs."""
    return rng.sample([(f, la) for f in FIRST_NAMES for la in LAST_NAMES], n)


def full_names(rng: random.Random, n: int) -> list[str]:
    return [f"{first} {last}" for first, last in people(rng, n)]


def random_date(rng: random.Random, start: dt.date, span_days: int) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(span_days))


# ----------------------------------------------------------------------------------------------------
# The tasks


@task
def line_totals() -> Task:
    def build(rng: random.Random) -> Workbook:
        first = rng.randrange(1000, 9000)
        rows: Rows = [["Order ID", "Product", "Unit Price", "Quantity", "Discount (%)", "Total"]]
        for i in range(rng.randint(8, 30)):
            rows.append([f"SO-{first + i}", rng.choice(PRODUCTS), round(rng.uniform(2, 250), 2),
                         rng.randint(1, 40), rng.choice([0, 0, 0, 5, 10, 15, 20]), None])
        return workbook({"Orders": rows})

    return Task(
        "eh-sheet-01", CELL,
        "In the 'Orders' sheet, fill column F (Total) for every order: Unit Price (column C) times "
        "Quantity (column D), reduced by the percentage discount in column E (e.g. 10 means 10% off), "
        "rounded to 2 decimal places.",
        "'Orders'!F2:F31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Orders"]
            for row in range(2, ws.max_row + 1):
                price, quantity, discount = (ws.cell(row, col).value for col in (3, 4, 5))
                if price is None or quantity is None:
                    continue
                ws.cell(row, 6).value = round(price * quantity * (1 - (discount or 0) / 100), 2)
            wb.save("output.xlsx")
        """),
        build)


@task
def text_dates() -> Task:
    def build(rng: random.Random) -> Workbook:
        subjects = ["Login fails", "Printer offline", "VPN drops", "Password reset", "Slow laptop",
                    "Email bounce", "New monitor", "Software install", "Access request", "Broken link"]
        first = rng.randrange(200, 900)
        rows: Rows = [["Ticket", "Opened", "Subject"]]
        for i in range(rng.randint(8, 30)):
            d = random_date(rng, dt.date(2024, 1, 1), 366)
            text = rng.choice([f"{d:%Y-%m-%d}", f"{d:%d/%m/%Y}", f"{d.day} {d:%b %Y}"])
            rows.append([f"T-{first + i}", text, rng.choice(subjects)])
        return workbook({"Tickets": rows})

    return Task(
        "eh-sheet-02", CELL,
        "In the 'Tickets' sheet, the Opened dates in column B were typed as text, in three styles: "
        "2024-03-05, 05/03/2024 (day first, then month) and 5 Mar 2024. Replace each of them, in place, "
        "with a real date value.",
        "'Tickets'!B2:B31",
        code("""
            from datetime import datetime

            from openpyxl import load_workbook

            FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d %b %Y")


            def parse(text):
                for fmt in FORMATS:
                    try:
                        return datetime.strptime(text.strip(), fmt)
                    except ValueError:
                        pass
                raise ValueError(f"unrecognised date: {text!r}")


            wb = load_workbook("input.xlsx")
            ws = wb["Tickets"]
            for row in range(2, ws.max_row + 1):
                cell = ws.cell(row, 2)
                if isinstance(cell.value, str):
                    cell.value = parse(cell.value)
                    cell.number_format = "yyyy-mm-dd"
            wb.save("output.xlsx")
        """),
        build)


@task
def totals_by_region() -> Task:
    def build(rng: random.Random) -> Workbook:
        regions = rng.sample(["Central", "East", "North", "South", "West"], rng.randint(3, 5))
        reps = full_names(rng, 6)
        rows: Rows = [["Date", "Region", "Rep", "Amount"]]
        for _ in range(rng.randint(10, 35)):
            rows.append([random_date(rng, dt.date(2024, 4, 1), 90), rng.choice(regions), rng.choice(reps),
                         round(rng.uniform(50, 2500), 2)])
        return workbook({"Sales": rows})

    return Task(
        "eh-sheet-03", SHEET,
        "Using the 'Sales' sheet, add a new sheet named 'Summary' with one row per region. Row 1 holds "
        "the headers Region, Total Sales, Number of Sales, Average Sale (columns A to D); below them, one "
        "row per region in alphabetical order with the sum of Amount, the number of sales and the "
        "average amount, the average rounded to 2 decimal places.",
        "'Summary'!A1:D6",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            totals, counts = {}, {}
            for _date, region, _rep, amount in wb["Sales"].iter_rows(min_row=2, max_col=4, values_only=True):
                if region is None:
                    continue
                totals[region] = totals.get(region, 0) + amount
                counts[region] = counts.get(region, 0) + 1
            ws = wb.create_sheet("Summary")
            ws.append(["Region", "Total Sales", "Number of Sales", "Average Sale"])
            for region in sorted(totals):
                ws.append([region, round(totals[region], 2), counts[region],
                           round(totals[region] / counts[region], 2)])
            wb.save("output.xlsx")
        """),
        build)


@task
def pivot_units() -> Task:
    def build(rng: random.Random) -> Workbook:
        stores = rng.sample(["Bayside", "Downtown", "Harbor", "Hillcrest", "Lakeside", "Riverside"],
                            rng.randint(3, 6))
        rows: Rows = [["Store", "Month", "Units"]]
        for _ in range(rng.randint(12, 35)):
            rows.append([rng.choice(stores), rng.choice(["Jan", "Feb", "Mar", "Apr"]), rng.randint(1, 60)])
        return workbook({"Data": rows})

    return Task(
        "eh-sheet-04", SHEET,
        "Summarise the 'Data' sheet as a pivot table of Units in a new sheet named 'Pivot'. Row 1: Store, "
        "Jan, Feb, Mar, Apr, Total (columns A to F). Then one row per store in alphabetical order with "
        "the total units it sold in each month (0 when none) and its overall total, and a last row "
        "labelled Total with the column totals.",
        "'Pivot'!A1:F8",
        code("""
            from openpyxl import load_workbook

            MONTHS = ["Jan", "Feb", "Mar", "Apr"]
            wb = load_workbook("input.xlsx")
            units = {}
            for store, month, count in wb["Data"].iter_rows(min_row=2, max_col=3, values_only=True):
                if store is None:
                    continue
                by_month = units.setdefault(store, dict.fromkeys(MONTHS, 0))
                by_month[month] += count
            ws = wb.create_sheet("Pivot")
            ws.append(["Store"] + MONTHS + ["Total"])
            for store in sorted(units):
                values = [units[store][m] for m in MONTHS]
                ws.append([store] + values + [sum(values)])
            column_totals = [sum(units[s][m] for s in units) for m in MONTHS]
            ws.append(["Total"] + column_totals + [sum(column_totals)])
            wb.save("output.xlsx")
        """),
        build, cases=2)


@task
def letter_grades() -> Task:
    def build(rng: random.Random) -> Workbook:
        boundaries = [90, 80, 70, 60, 59, 100]  # the edges of the rule always occur
        scores = boundaries[:rng.randint(3, 6)] + [rng.randint(35, 100) for _ in range(rng.randint(7, 29))]
        rng.shuffle(scores)
        rows: Rows = [["Student", "Score", "Grade"]]
        rows += [[name, score, None] for name, score in zip(full_names(rng, len(scores)), scores)]
        return workbook({"Grades": rows})

    return Task(
        "eh-sheet-05", CELL,
        "In the 'Grades' sheet, write each student's letter grade in column C from the score in column B: "
        "A for 90 or more, B for 80 to 89, C for 70 to 79, D for 60 to 69 and F below 60.",
        "'Grades'!C2:C36",
        code("""
            from openpyxl import load_workbook


            def grade(score):
                for threshold, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
                    if score >= threshold:
                        return letter
                return "F"


            wb = load_workbook("input.xlsx")
            ws = wb["Grades"]
            for row in range(2, ws.max_row + 1):
                score = ws.cell(row, 2).value
                if score is not None:
                    ws.cell(row, 3).value = grade(score)
            wb.save("output.xlsx")
        """),
        build)


@task
def clean_contacts() -> Task:
    def messy_word(rng: random.Random, word: str) -> str:
        return rng.choice([word.upper(), word.lower(), word.swapcase(),
                           "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in word)])

    def build(rng: random.Random) -> Workbook:
        rows: Rows = [["Name", "Email", "Phone"]]
        for first, last in people(rng, rng.randint(8, 25)):
            name = (" " * rng.randint(0, 2) + messy_word(rng, first) + " " * rng.randint(1, 3)
                    + messy_word(rng, last) + " " * rng.randint(0, 2))
            if name == f"{first} {last}":
                name = name.upper()
            email = f"{first}.{last}@{rng.choice(['example.com', 'mail.test', 'corp.example'])}"
            email = rng.choice([email, email.upper(), email.lower()]) + " " * rng.randint(0, 2)
            rows.append([name, email, f"555-{rng.randrange(10000):04d}"])
        return workbook({"Contacts": rows})

    return Task(
        "eh-sheet-06", CELL,
        "The 'Contacts' sheet was typed carelessly. Clean columns A and B in place: in each Name remove "
        "leading, trailing and repeated spaces and capitalise every word (first letter upper-case, the "
        "rest lower-case, e.g. 'Maya Okafor'); make each Email lower-case without surrounding spaces.",
        "'Contacts'!A2:B26",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Contacts"]
            for row in range(2, ws.max_row + 1):
                name, email = ws.cell(row, 1), ws.cell(row, 2)
                if isinstance(name.value, str):
                    name.value = " ".join(word.capitalize() for word in name.value.split())
                if isinstance(email.value, str):
                    email.value = email.value.strip().lower()
            wb.save("output.xlsx")
        """),
        build)


@task
def split_names() -> Task:
    def build(rng: random.Random) -> Workbook:
        firsts = FIRST_NAMES + ["Mary Ann", "Jean Luc", "Anna Maria"]
        lasts = LAST_NAMES + ["De Luca", "Van Dijk", "Da Silva"]
        pairs = rng.sample([(f, la) for f in firsts for la in lasts], rng.randint(8, 30))
        rows: Rows = [["Name", "First Name", "Last Name", "Department"]]
        rows += [[f"{last}, {first}", None, None, rng.choice(DEPARTMENTS)] for first, last in pairs]
        return workbook({"Staff": rows})

    return Task(
        "eh-sheet-07", CELL,
        "In the 'Staff' sheet, column A holds names written as 'Last, First' (the part before the comma "
        "is the last name, which may have two words; everything after it is the first name, which may "
        "also have two words). Put the first name in column B and the last name in column C for every "
        "row, without extra spaces.",
        "'Staff'!B2:C31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Staff"]
            for row in range(2, ws.max_row + 1):
                name = ws.cell(row, 1).value
                if not name:
                    continue
                last, first = (part.strip() for part in name.split(",", 1))
                ws.cell(row, 2).value = first
                ws.cell(row, 3).value = last
            wb.save("output.xlsx")
        """),
        build)


@task
def price_lookup() -> Task:
    def build(rng: random.Random) -> Workbook:
        skus = [f"P-{n}" for n in rng.sample(range(100, 400), rng.randint(6, 12))]
        catalogue = [[sku, name, round(rng.uniform(1, 120), 2)]
                     for sku, name in zip(skus, rng.sample(PRODUCTS, len(skus)))]
        unknown = [f"P-{n}" for n in range(400, 410)]
        first = rng.randrange(500, 900)
        orders: Rows = [["Order ID", "SKU", "Quantity", "Unit Price", "Line Total"]]
        for i in range(rng.randint(8, 30)):
            sku = rng.choice(unknown) if rng.random() < 0.12 else rng.choice(skus)
            orders.append([first + i, sku, rng.randint(1, 25), None, None])
        return workbook({"Orders": orders, "Products": [["SKU", "Product", "Price"]] + catalogue})

    return Task(
        "eh-sheet-08", CELL,
        "For every order in the 'Orders' sheet, look up its SKU (column B) in the 'Products' sheet and "
        "write that product's Price in column D (Unit Price), and Quantity times Unit Price in column E "
        "(Line Total), rounded to 2 decimal places. When a SKU is not in the 'Products' sheet, write the "
        "text N/A in both D and E.",
        "'Orders'!D2:E31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            prices = {sku: price for sku, _name, price
                      in wb["Products"].iter_rows(min_row=2, max_col=3, values_only=True) if sku is not None}
            ws = wb["Orders"]
            for row in range(2, ws.max_row + 1):
                sku, quantity = ws.cell(row, 2).value, ws.cell(row, 3).value
                if sku is None:
                    continue
                if sku in prices:
                    ws.cell(row, 4).value = prices[sku]
                    ws.cell(row, 5).value = round(quantity * prices[sku], 2)
                else:
                    ws.cell(row, 4).value = "N/A"
                    ws.cell(row, 5).value = "N/A"
            wb.save("output.xlsx")
        """),
        build)


@task
def running_balance() -> Task:
    def build(rng: random.Random) -> Workbook:
        n = rng.randint(8, 30)
        dates = sorted(random_date(rng, dt.date(2024, 9, 1), 120) for _ in range(n))
        rows: Rows = [["Date", "Description", "Amount", "Balance", None, "Opening balance",
                       round(rng.uniform(500, 5000), 2)]]
        for d in dates:
            if rng.random() < 0.35:
                rows.append([d, rng.choice(["Customer payment", "Refund received", "Interest"]),
                             round(rng.uniform(20, 1500), 2), None])
            else:
                rows.append([d, rng.choice(["Rent", "Supplies", "Utilities", "Payroll", "Travel"]),
                             -round(rng.uniform(10, 900), 2), None])
        return workbook({"Ledger": rows})

    return Task(
        "eh-sheet-09", CELL,
        "In the 'Ledger' sheet, fill column D (Balance) with the running balance: for each row, the "
        "opening balance in cell G1 plus all the amounts in column C from row 2 down to and including "
        "that row (payments out are negative). Round to 2 decimal places.",
        "'Ledger'!D2:D31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Ledger"]
            balance = ws["G1"].value
            for row in range(2, ws.max_row + 1):
                amount = ws.cell(row, 3).value
                if amount is None:
                    continue
                balance += amount
                ws.cell(row, 4).value = round(balance, 2)
            wb.save("output.xlsx")
        """),
        build)


@task
def rank_teams() -> Task:
    def build(rng: random.Random) -> Workbook:
        teams = rng.sample(["Falcons", "Otters", "Comets", "Wolves", "Herons", "Lynx", "Badgers", "Ravens",
                            "Tigers", "Pumas", "Bisons", "Cobras", "Eagles", "Foxes", "Geckos", "Hawks",
                            "Ibex", "Jaguars", "Koalas", "Mustangs"], rng.randint(8, 20))
        rows: Rows = [["Team", "Points", "Rank"]]
        rows += [[team, rng.randint(10, 30), None] for team in teams]
        return workbook({"Results": rows})

    return Task(
        "eh-sheet-10", CELL,
        "In the 'Results' sheet, write each team's rank in column C based on Points (column B), the "
        "highest score ranked 1. Teams with equal points share the same rank and the next rank is "
        "skipped accordingly (like Excel's RANK: 1, 2, 2, 4).",
        "'Results'!C2:C21",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Results"]
            rows = [row for row in range(2, ws.max_row + 1) if ws.cell(row, 2).value is not None]
            points = [ws.cell(row, 2).value for row in rows]
            for row, p in zip(rows, points):
                ws.cell(row, 3).value = 1 + sum(1 for other in points if other > p)
            wb.save("output.xlsx")
        """),
        build)


@task
def remove_duplicates() -> Task:
    def build(rng: random.Random) -> Workbook:
        first_id = rng.randrange(1000, 5000)
        customers = []
        for i, (first, last) in enumerate(people(rng, rng.randint(8, 25))):
            city = rng.choice(["Lisbon", "Oslo", "Porto", "Lyon", "Graz", "Turin", "Ghent", "Bergen"])
            customers.append([f"C-{first_id + i}", f"{first} {last}", city,
                              f"{first}.{last}@example.com".lower()])
        rows = [list(c) for c in customers]
        for _ in range(rng.randint(2, 6)):  # exact copies of an earlier row, somewhere after it
            source = rng.randrange(len(rows))
            rows.insert(rng.randint(source + 1, len(rows)), list(rows[source]))
        near = list(rng.choice(customers))  # same customer, new email: not a duplicate
        near[3] = near[3].replace("@example.com", "@mail.test")
        rows.insert(rng.randint(0, len(rows)), near)
        return workbook({"Customers": [["Customer ID", "Name", "City", "Email"]] + rows})

    return Task(
        "eh-sheet-11", SHEET,
        "The 'Customers' sheet (columns A to D, headers in row 1) contains duplicate rows. Remove every "
        "row that repeats an earlier row exactly (all four columns equal), keeping the first occurrence "
        "and the original order of the rest, so the table has no blank rows and nothing below it. Rows "
        "that differ in any column are not duplicates.",
        "'Customers'!A1:D40",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Customers"]
            rows = list(ws.iter_rows(min_row=2, max_col=4, values_only=True))
            unique = []
            for row in rows:
                if any(v is not None for v in row) and row not in unique:
                    unique.append(row)
            for r in range(2, ws.max_row + 1):
                values = unique[r - 2] if r - 2 < len(unique) else (None,) * 4
                for c, value in enumerate(values, start=1):
                    ws.cell(r, c).value = value
            wb.save("output.xlsx")
        """),
        build)


@task
def sort_inventory() -> Task:
    def build(rng: random.Random) -> Workbook:
        categories = ["Cleaning", "Electrical", "Hardware", "Paint", "Plumbing"]
        items = rng.sample([f"{adj} {noun}" for adj in ["Basic", "Compact", "Heavy", "Mini", "Pro", "Smart"]
                            for noun in ["Bracket", "Brush", "Cable", "Clamp", "Drill", "Valve"]],
                           rng.randint(10, 30))
        stocks = rng.sample(range(500), len(items))
        rows: Rows = [["Item", "Category", "Stock", "Unit Price"]]
        rows += [[item, rng.choice(categories), stock, round(rng.uniform(1, 80), 2)]
                 for item, stock in zip(items, stocks)]
        return workbook({"Inventory": rows})

    return Task(
        "eh-sheet-12", SHEET,
        "Sort the table in the 'Inventory' sheet (headers in row 1, columns A to D) by Category from A to "
        "Z, and within each category by Stock from highest to lowest. Keep each row's values together and "
        "the header row in place.",
        "'Inventory'!A1:D31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Inventory"]
            rows = [row for row in ws.iter_rows(min_row=2, max_col=4, values_only=True) if row[0] is not None]
            rows.sort(key=lambda row: (row[1], -row[2]))
            for r, values in enumerate(rows, start=2):
                for c, value in enumerate(values, start=1):
                    ws.cell(r, c).value = value
            wb.save("output.xlsx")
        """),
        build, cases=2)


@task
def overdue_invoices() -> Task:
    def build(rng: random.Random) -> Workbook:
        first = rng.randrange(3000, 8000)
        clients = ["Acme Ltd", "Birch & Co", "Cobalt Inc", "Delta Foods", "Evergreen", "Fjord AS", "Granite"]
        rows: Rows = [["Invoice", "Customer", "Amount", "Status", "Due Date"]]
        for i in range(rng.randint(10, 30)):
            amount = rng.choice([500, round(rng.uniform(50, 3000), 2)])
            rows.append([f"INV-{first + i}", rng.choice(clients), amount,
                         rng.choice(["Paid", "Paid", "Pending", "Overdue"]),
                         random_date(rng, dt.date(2024, 5, 1), 150)])
        rows[rng.randint(1, len(rows) - 1)][2:4] = [round(rng.uniform(600, 3000), 2), "Overdue"]
        return workbook({"Invoices": rows})

    return Task(
        "eh-sheet-13", SHEET,
        "Create a new sheet named 'Overdue' listing the invoices from the 'Invoices' sheet whose Status is "
        "Overdue and whose Amount is more than 500. Copy the header row to row 1 and the matching rows "
        "(all five columns, A to E) below it, in their original order.",
        "'Overdue'!A1:E31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            source = wb["Invoices"]
            target = wb.create_sheet("Overdue")
            rows = list(source.iter_rows(max_col=5, values_only=True))
            target.append(rows[0])
            for row in rows[1:]:
                if row[3] == "Overdue" and row[2] is not None and row[2] > 500:
                    target.append(row)
                    target.cell(target.max_row, 5).number_format = "yyyy-mm-dd"
            wb.save("output.xlsx")
        """),
        build)


@task
def share_of_total() -> Task:
    def build(rng: random.Random) -> Workbook:
        rows: Rows = [["Department", "Spend", "Share of Total (%)"]]
        rows += [[d, round(rng.uniform(1000, 90000), 2), None]
                 for d in rng.sample(DEPARTMENTS, rng.randint(5, 15))]
        return workbook({"Budget": rows})

    return Task(
        "eh-sheet-14", CELL,
        "In the 'Budget' sheet, fill column C with each department's share of the total spend (the sum "
        "of column B), as a percentage number rounded to 2 decimal places: write 12.34 for 12.34%, not "
        "0.1234.",
        "'Budget'!C2:C16",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Budget"]
            rows = [row for row in range(2, ws.max_row + 1) if ws.cell(row, 2).value is not None]
            total = sum(ws.cell(row, 2).value for row in rows)
            for row in rows:
                ws.cell(row, 3).value = round(ws.cell(row, 2).value / total * 100, 2)
            wb.save("output.xlsx")
        """),
        build)


@task
def project_durations() -> Task:
    def build(rng: random.Random) -> Workbook:
        report = dt.date(2024, 12, 31)
        rows: Rows = [["Project", "Start", "End", "Duration (days)", None, "Report date", report]]
        names = rng.sample(["Apollo", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Glacier", "Harbor",
                            "Iris", "Juniper", "Kestrel", "Lumen", "Meadow", "Nimbus", "Orion", "Pioneer",
                            "Quartz", "Rivet", "Summit", "Tundra", "Umbra", "Vista", "Willow", "Zenith"],
                           rng.randint(8, 24))
        for name in names:
            start = random_date(rng, dt.date(2024, 1, 1), 300)
            end = None if rng.random() < 0.25 else start + dt.timedelta(days=rng.randint(0, 200))
            rows.append([f"Project {name}", start, end, None])
        return workbook({"Projects": rows})

    return Task(
        "eh-sheet-15", CELL,
        "In the 'Projects' sheet, fill column D with each project's duration in days: End (column C) minus "
        "Start (column B). For projects still open (End is empty), count up to the report date in cell G1 "
        "instead. Write whole numbers of days.",
        "'Projects'!D2:D26",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Projects"]
            report_date = ws["G1"].value
            for row in range(2, ws.max_row + 1):
                start, end = ws.cell(row, 2).value, ws.cell(row, 3).value
                if start is None:
                    continue
                ws.cell(row, 4).value = ((end or report_date) - start).days
            wb.save("output.xlsx")
        """),
        build)


@task
def mailing_lines() -> Task:
    def build(rng: random.Random) -> Workbook:
        cities = [("Boston", "MA", "021"), ("Hartford", "CT", "061"), ("Newark", "NJ", "071"),
                  ("Portland", "ME", "041"), ("Denver", "CO", "802"), ("Austin", "TX", "787"),
                  ("Seattle", "WA", "981"), ("Madison", "WI", "537")]
        streets = ["Oak St", "Maple Ave", "Pine Rd", "Elm St", "Cedar Ln", "Lake Dr", "Hill Rd", "Park Ave"]
        rows: Rows = [["Name", "Street", "City", "State", "ZIP", "Mailing Line"]]
        for name in full_names(rng, rng.randint(8, 25)):
            city, state, prefix = rng.choice(cities)
            rows.append([name, f"{rng.randint(1, 999)} {rng.choice(streets)}", city, state,
                         f"{prefix}{rng.randrange(100):02d}", None])
        return workbook({"Addresses": rows})

    return Task(
        "eh-sheet-16", CELL,
        "In the 'Addresses' sheet, build column F (Mailing Line) from columns B to E as "
        "'Street, City, ST ZIP', e.g. '12 Oak St, Boston, MA 02134'. ZIP codes are text and must keep "
        "their leading zeros.",
        "'Addresses'!F2:F26",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Addresses"]
            for row in range(2, ws.max_row + 1):
                street, city, state, zip_code = (ws.cell(row, col).value for col in (2, 3, 4, 5))
                if street is None:
                    continue
                ws.cell(row, 6).value = f"{street}, {city}, {state} {zip_code}"
            wb.save("output.xlsx")
        """),
        build)


@task
def survey_counts() -> Task:
    groups = ["18-29", "30-44", "45-59", "60+"]
    answers = ["Yes", "No", "Undecided"]

    def build(rng: random.Random) -> Workbook:
        survey: Rows = [["Respondent", "Age Group", "Answer"]]
        for i in range(rng.randint(15, 39)):
            answer = rng.choice(answers)
            answer = rng.choice([answer, answer, answer.lower(), answer.upper(), f" {answer}", f"{answer} "])
            survey.append([f"R{i + 1:03d}", rng.choice(groups), answer])
        counts: Rows = [["Answer"] + groups + ["Total"]] + [[a] for a in answers] + [["Total"]]
        return workbook({"Survey": survey, "Counts": counts})

    return Task(
        "eh-sheet-17", CELL,
        "Fill the table in the 'Counts' sheet from the 'Survey' sheet: cells B2:E4 get the number of "
        "respondents who gave the answer in column A (Yes, No, Undecided) and belong to the age group "
        "in row 1; column F is the row total and row 5 the column totals (F5 the grand total). Answers "
        "in the survey may differ in capitalisation or have stray spaces; count them as the same answer. "
        "Write 0 where there are none.",
        "'Counts'!B2:F5",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Counts"]
            groups = [ws.cell(1, col).value for col in range(2, 6)]
            answers = [ws.cell(row, 1).value for row in range(2, 5)]
            counts = {(a, g): 0 for a in answers for g in groups}
            for _id, group, answer in wb["Survey"].iter_rows(min_row=2, max_col=3, values_only=True):
                if answer is None:
                    continue
                counts[(answer.strip().capitalize(), group)] += 1
            for r, answer in enumerate(answers, start=2):
                for c, group in enumerate(groups, start=2):
                    ws.cell(r, c).value = counts[(answer, group)]
                ws.cell(r, 6).value = sum(counts[(answer, g)] for g in groups)
            for c, group in enumerate(groups, start=2):
                ws.cell(5, c).value = sum(counts[(a, group)] for a in answers)
            ws.cell(5, 6).value = sum(counts.values())
            wb.save("output.xlsx")
        """),
        build, cases=2)


@task
def archive_done() -> Task:
    def task_rows(rng: random.Random, n: int, statuses: Sequence[str]) -> Rows:
        verbs = ["Review", "Update", "Draft", "Test", "Deploy", "Plan", "Audit", "Migrate"]
        nouns = ["budget", "website", "contract", "backup", "onboarding", "report", "roadmap", "invoices"]
        return [[f"{rng.choice(verbs)} {rng.choice(nouns)}", rng.choice(FIRST_NAMES),
                 random_date(rng, dt.date(2024, 10, 1), 90), rng.choice(statuses)] for _ in range(n)]

    def build(rng: random.Random) -> Workbook:
        header = ["Task", "Owner", "Due", "Status"]
        active = task_rows(rng, rng.randint(8, 28), ["Open", "In Progress", "Done"])
        active.insert(rng.randint(0, len(active)), task_rows(rng, 1, ["Done"])[0])
        archive = task_rows(rng, rng.randint(2, 8), ["Done"])
        return workbook({"Active": [header] + active, "Archive": [header] + archive})

    return Task(
        "eh-sheet-18", SHEET,
        "Move every task whose Status is Done from the 'Active' sheet to the 'Archive' sheet: append those "
        "rows (columns A to D), in their order, below the rows already in 'Archive', and remove them from "
        "'Active' so that its remaining rows stay in order with no blank rows in between.",
        "'Active'!A1:D31,'Archive'!A1:D40",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            active, archive = wb["Active"], wb["Archive"]
            keep, done = [], []
            for row in active.iter_rows(min_row=2, max_col=4, values_only=True):
                if any(v is not None for v in row):
                    (done if row[3] == "Done" else keep).append(row)
            next_row = archive.max_row + 1
            for values in done:
                for c, value in enumerate(values, start=1):
                    archive.cell(next_row, c).value = value
                archive.cell(next_row, 3).number_format = "yyyy-mm-dd"
                next_row += 1
            for r in range(2, active.max_row + 1):
                values = keep[r - 2] if r - 2 < len(keep) else (None,) * 4
                for c, value in enumerate(values, start=1):
                    active.cell(r, c).value = value
            wb.save("output.xlsx")
        """),
        build)


@task
def unpivot_quarters() -> Task:
    def build(rng: random.Random) -> Workbook:
        rows: Rows = [["Product", "Q1", "Q2", "Q3", "Q4"]]
        for product in rng.sample(PRODUCTS, rng.randint(4, 9)):
            rows.append([product] + [None if rng.random() < 0.15 else rng.randint(0, 400) for _ in range(4)])
        return workbook({"Quarterly": rows})

    return Task(
        "eh-sheet-19", SHEET,
        "Turn the wide table in the 'Quarterly' sheet (one row per product, sales in columns Q1 to Q4) "
        "into a long table in a new sheet named 'Long' with the headers Product, Quarter, Sales in "
        "A1:C1 and one row per product and quarter below: products in the order they appear, quarters "
        "Q1 to Q4 within each product. Skip empty cells (but keep zeros).",
        "'Long'!A1:C37",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            wide = wb["Quarterly"]
            quarters = [wide.cell(1, col).value for col in range(2, 6)]
            long = wb.create_sheet("Long")
            long.append(["Product", "Quarter", "Sales"])
            for row in wide.iter_rows(min_row=2, max_col=5, values_only=True):
                product, sales = row[0], row[1:]
                if product is None:
                    continue
                for quarter, value in zip(quarters, sales):
                    if value is not None:
                        long.append([product, quarter, value])
            wb.save("output.xlsx")
        """),
        build)


@task
def fill_down_regions() -> Task:
    def build(rng: random.Random) -> Workbook:
        rows: Rows = [["Region", "Product", "Revenue"]]
        for region in rng.sample(["Alpine", "Baltic", "Coastal", "Delta", "Highlands", "Prairie"],
                                 rng.randint(3, 5)):
            for i, product in enumerate(rng.sample(PRODUCTS, rng.randint(2, 6))):
                rows.append([region if i == 0 else None, product, round(rng.uniform(100, 9000), 2)])
        return workbook({"Report": rows})

    return Task(
        "eh-sheet-20", CELL,
        "In the 'Report' sheet, the Region in column A is only written on the first row of each group. "
        "Fill every empty cell of column A (within the table) with the region from the nearest filled "
        "cell above it.",
        "'Report'!A2:A31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Report"]
            region = None
            for row in range(2, ws.max_row + 1):
                cell = ws.cell(row, 1)
                if cell.value is not None:
                    region = cell.value
                elif ws.cell(row, 2).value is not None:
                    cell.value = region
            wb.save("output.xlsx")
        """),
        build)


@task
def split_codes() -> Task:
    def build(rng: random.Random) -> Workbook:
        rows: Rows = [["Product Code", "Category", "Year", "Serial Number"]]
        for _ in range(rng.randint(8, 25)):
            code_text = f"{rng.choice(['ELC', 'FRN', 'TOY', 'GRD', 'KIT'])}-{rng.randint(2015, 2024)}-" \
                        f"{rng.randrange(1, 10000):04d}"
            rows.append([code_text.lower() if rng.random() < 0.3 else code_text, None, None, None])
        return workbook({"Codes": rows})

    return Task(
        "eh-sheet-21", CELL,
        "In the 'Codes' sheet, column A holds product codes like ELC-2023-0457 (some typed in lower "
        "case). Split each code into column B (Category: the letters, in upper case), column C (Year, as "
        "a number) and column D (Serial Number, as a number, so 0457 becomes 457).",
        "'Codes'!B2:D26",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Codes"]
            for row in range(2, ws.max_row + 1):
                text = ws.cell(row, 1).value
                if not text:
                    continue
                category, year, serial = text.strip().split("-")
                ws.cell(row, 2).value = category.upper()
                ws.cell(row, 3).value = int(year)
                ws.cell(row, 4).value = int(serial)
            wb.save("output.xlsx")
        """),
        build, cases=2)


@task
def monthly_totals() -> Task:
    def build(rng: random.Random) -> Workbook:
        start = dt.date(2024, rng.randint(1, 6), 1)
        rows: Rows = [["Date", "Category", "Amount"]]
        for _ in range(rng.randint(10, 35)):
            rows.append([random_date(rng, start, rng.choice([90, 120, 150, 180])),
                         rng.choice(["Travel", "Meals", "Software", "Hardware", "Training"]),
                         round(rng.uniform(5, 800), 2)])
        return workbook({"Expenses": rows})

    return Task(
        "eh-sheet-22", SHEET,
        "From the 'Expenses' sheet, make a new sheet named 'Monthly' with the headers Month, Total, "
        "Transactions in A1:C1 and, below, one row per calendar month that has expenses, in "
        "chronological order: the month as text in YYYY-MM form (e.g. 2024-03), the sum of Amount "
        "rounded to 2 decimal places, and the number of expenses.",
        "'Monthly'!A1:C8",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            totals, counts = {}, {}
            for date, _category, amount in wb["Expenses"].iter_rows(min_row=2, max_col=3, values_only=True):
                if date is None:
                    continue
                month = date.strftime("%Y-%m")
                totals[month] = totals.get(month, 0) + amount
                counts[month] = counts.get(month, 0) + 1
            ws = wb.create_sheet("Monthly")
            ws.append(["Month", "Total", "Transactions"])
            for month in sorted(totals):
                ws.append([month, round(totals[month], 2), counts[month]])
            wb.save("output.xlsx")
        """),
        build)


@task
def top_per_class() -> Task:
    def build(rng: random.Random) -> Workbook:
        classes = rng.sample(["7A", "7B", "8A", "8B", "9A"], rng.randint(3, 5))
        rows: Rows = [["Student", "Class", "Score"]]
        rows += [[name, rng.choice(classes), rng.randint(50, 100)]
                 for name in full_names(rng, rng.randint(10, 35))]
        return workbook({"Scores": rows})

    return Task(
        "eh-sheet-23", SHEET,
        "Create a new sheet named 'Top Students' with the headers Class, Student, Score in A1:C1 and, "
        "below, one row per class from the 'Scores' sheet, classes in alphabetical order, giving the "
        "student with that class's highest score and the score. If students tie for the highest score, "
        "take the one listed first in 'Scores'.",
        "'Top Students'!A1:C6",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            best = {}
            rows = wb["Scores"].iter_rows(min_row=2, max_col=3, values_only=True)
            for student, school_class, score in rows:
                if student is None:
                    continue
                if school_class not in best or score > best[school_class][1]:
                    best[school_class] = (student, score)
            ws = wb.create_sheet("Top Students")
            ws.append(["Class", "Student", "Score"])
            for school_class in sorted(best):
                ws.append([school_class, *best[school_class]])
            wb.save("output.xlsx")
        """),
        build)


@task
def shift_hours() -> Task:
    def build(rng: random.Random) -> Workbook:
        staff = full_names(rng, 5)
        rows: Rows = [["Employee", "Date", "Start", "End", "Hours"]]
        for _ in range(rng.randint(8, 30)):
            start = rng.choice([6, 7, 8, 9, 14, 18, 22]) * 60 + rng.choice([0, 15, 30, 45])
            end = (start + rng.randint(16, 44) * 15) % (24 * 60)
            rows.append([rng.choice(staff), random_date(rng, dt.date(2024, 11, 1), 30),
                         dt.time(start // 60, start % 60), dt.time(end // 60, end % 60), None])
        return workbook({"Shifts": rows})

    return Task(
        "eh-sheet-24", CELL,
        "In the 'Shifts' sheet, fill column E with the hours worked in each shift, from the Start (column "
        "C) and End (column D) times, as a decimal number of hours (7:45 worked is 7.75). A shift whose "
        "End is earlier than its Start ran past midnight into the next day.",
        "'Shifts'!E2:E31",
        code("""
            from openpyxl import load_workbook

            wb = load_workbook("input.xlsx")
            ws = wb["Shifts"]
            for row in range(2, ws.max_row + 1):
                start, end = ws.cell(row, 3).value, ws.cell(row, 4).value
                if start is None or end is None:
                    continue
                minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
                if minutes <= 0:
                    minutes += 24 * 60
                ws.cell(row, 5).value = round(minutes / 60, 2)
            wb.save("output.xlsx")
        """),
        build)


# ----------------------------------------------------------------------------------------------------
# Generation


def pin_timestamps(path: Path) -> None:
    """Rewrite an .xlsx with fixed zip entry dates and fixed document created/modified times, so that
    the same content always gives the same bytes."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>" + PINNED_CORE_TIME + rb"\g<2>", data)
            pinned = zipfile.ZipInfo(info.filename, date_time=PINNED_ZIP_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            archive.writestr(pinned, data)


def run_on_host(solution_code: str, input_path: Path, output_path: Path) -> None:
    """Run a solution on a copy of ``input_path`` in a scratch directory; save its output.xlsx."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(input_path, Path(tmp) / "input.xlsx")
        proc = subprocess.run([sys.executable, "-c", solution_code], cwd=tmp, capture_output=True,
                              text=True, timeout=120, check=False)
        if proc.returncode != 0 or not (Path(tmp) / "output.xlsx").exists():
            raise SystemExit(f"{input_path}: the gold solution failed on the host:\n{proc.stderr}")
        shutil.copy(Path(tmp) / "output.xlsx", output_path)


def case_paths(t: Task, k: int) -> tuple[Path, Path]:
    folder = OUT / "spreadsheet" / t.id
    return folder / f"{k}_{t.id}_input.xlsx", folder / f"{k}_{t.id}_answer.xlsx"


def generate(t: Task) -> None:
    for k in range(1, t.cases + 1):
        input_path, answer_path = case_paths(t, k)
        input_path.parent.mkdir(parents=True, exist_ok=True)
        t.build(random.Random(f"{t.id}/{k}")).save(input_path)
        pin_timestamps(input_path)
        run_on_host(t.solution_code, input_path, answer_path)
        pin_timestamps(answer_path)


def dataset_entry(t: Task) -> dict[str, str]:
    return {"id": t.id, "instruction": t.instruction, "instruction_type": t.instruction_type,
            "answer_position": t.answer_position, "spreadsheet_path": f"spreadsheet/{t.id}",
            "solution_code": t.solution_code}


# ----------------------------------------------------------------------------------------------------
# Verification


@dataclass
class CaseCheck:
    self_compare: CaseResult  # answer vs answer: must pass
    input_compare: CaseResult  # untouched input vs answer: must fail
    same_as_other_case: bool  # another case's answer passes against this one: must be False
    outside: list[str]  # cells the gold program changed outside answer_position: must be empty
    sandbox: CaseResult  # the gold program's output in the sandbox image vs answer: must pass

    @property
    def ok(self) -> bool:
        return (self.self_compare.passed and not self.input_compare.passed and not self.same_as_other_case
                and not self.outside and self.sandbox.passed)


def changes_outside(input_path: Path, answer_path: Path, answer_position: str) -> list[str]:
    """Cells whose value differs between input and answer but which answer_position does not cover."""
    before, after = load_workbook(input_path, data_only=True), load_workbook(answer_path, data_only=True)
    covered: dict[str, set[str]] = {}
    for r in parse_answer_position(answer_position):
        ws = after[r.sheet or after.sheetnames[0]]
        covered.setdefault(ws.title, set()).update(cell_names(r.spec, ws.max_row, ws.max_column))
    found = [f"sheet {name!r} removed" for name in before.sheetnames if name not in after.sheetnames]
    for ws in after.worksheets:
        old = before[ws.title] if ws.title in before.sheetnames else None
        rows = max(ws.max_row, old.max_row if old else 0)
        cols = max(ws.max_column, old.max_column if old else 0)
        for row in range(1, rows + 1):
            for col in range(1, cols + 1):
                name = f"{get_column_letter(col)}{row}"
                was = old.cell(row, col).value if old else None
                if not cells_equal(was, ws.cell(row, col).value) and name not in covered.get(ws.title, ()):
                    found.append(f"{ws.title}!{name}")
    return found


def run_in_sandbox(solution_code: str, input_path: Path, answer_path: Path, answer_position: str,
                   image: str) -> CaseResult:
    """Run the gold program in a fresh, network-less container of ``image`` and compare its output."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        work.chmod(0o777)  # the image runs as an unprivileged user
        shutil.copy(input_path, work / "input.xlsx")
        proc = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{work}:/work",
                               "-w", "/work", image, "python3", "-c", solution_code],
                              capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            return CaseResult(False, error=f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
        return compare_workbooks(answer_path, work / "output.xlsx", answer_position)


def check_case(t: Task, k: int, image: str) -> CaseCheck:
    input_path, answer_path = case_paths(t, k)
    return CaseCheck(
        self_compare=compare_workbooks(answer_path, answer_path, t.answer_position),
        input_compare=compare_workbooks(answer_path, input_path, t.answer_position),
        same_as_other_case=any(
            compare_workbooks(answer_path, case_paths(t, other)[1], t.answer_position).passed
            for other in range(1, t.cases + 1) if other != k),
        outside=changes_outside(input_path, answer_path, t.answer_position),
        sandbox=run_in_sandbox(t.solution_code, input_path, answer_path, t.answer_position, image))


def input_matches(result: CaseResult) -> str:
    if result.error:
        return "no sheet"
    return f"{result.checked_cells - result.mismatch_count}/{result.checked_cells}"


def report(tasks: list[Task], checks: dict[str, list[CaseCheck]]) -> bool:
    """Print the summary table and every failure's details; True when everything passed."""
    print(f"{'id':<12} {'type':<5} {'cases':>5}  {'self':<5} {'distinct':<8} {'sandbox':<7} {'outside':>7}  "
          f"input vs answer: matching/checked cells per case")
    all_ok = True
    for t in tasks:
        cases = checks[t.id]
        n = len(cases)
        ok = all(c.ok for c in cases)
        all_ok &= ok
        self_ok = sum(c.self_compare.passed for c in cases)
        distinct = sum(not c.same_as_other_case for c in cases)
        sandbox_ok = sum(c.sandbox.passed for c in cases)
        print(f"{t.id:<12} {t.instruction_type.split('-')[0].lower():<5} {n:>5}  "
              f"{self_ok}/{n:<3} {distinct}/{n:<6} {sandbox_ok}/{n:<5} "
              f"{sum(len(c.outside) for c in cases):>7}  "
              f"{', '.join(input_matches(c.input_compare) for c in cases)}"
              f"{'' if ok else '   FAIL'}")
    for t in tasks:
        for k, c in enumerate(checks[t.id], start=1):
            where = f"{t.id} case {k}"
            if not c.self_compare.passed:
                print(f"{where}: the answer does not match itself: {c.self_compare.to_dict()}")
            if c.input_compare.passed:
                print(f"{where}: the untouched input already passes")
            if c.same_as_other_case:
                print(f"{where}: another case's answer passes against this one")
            if c.outside:
                print(f"{where}: cells changed outside answer_position: {c.outside[:10]}")
            if not c.sandbox.passed:
                print(f"{where}: sandbox run failed: {c.sandbox.error or c.sandbox.mismatches[:5]}")
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="evalharness/python:latest",
                        help="sandbox image the gold programs must also work in")
    parser.add_argument("--jobs", type=int, default=6, help="sandbox containers run at once")
    args = parser.parse_args()

    tasks = [make() for make in TASKS]
    shutil.rmtree(OUT / "spreadsheet", ignore_errors=True)
    for t in tasks:
        generate(t)
    (OUT / "dataset.json").write_text(
        json.dumps([dataset_entry(t) for t in tasks], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(tasks)} tasks, {sum(t.cases for t in tasks)} test cases to {OUT}")

    jobs = [(t, k) for t in tasks for k in range(1, t.cases + 1)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda job: check_case(job[0], job[1], args.image), jobs))
    checks: dict[str, list[CaseCheck]] = {t.id: [] for t in tasks}
    for (t, _k), check in zip(jobs, results):
        checks[t.id].append(check)
    return 0 if report(tasks, checks) else 1


if __name__ == "__main__":
    sys.exit(main())
