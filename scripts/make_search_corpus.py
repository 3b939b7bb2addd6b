#!/usr/bin/env python3
"""Generate evalharness's built-in ``search`` benchmark (tasks/search/) and verify it.

Why: the ``search`` task measures whether a model answers multi-hop questions by calling
``search(query)`` and ``get_document(docid)`` over a fixed corpus, and a closed-book control measures
memorisation. Every entity here is invented (people, companies, cities, rivers, countries, universities,
products, annual competitions and their editions, sports clubs, novels and films), with names built from
syllables, so no fact can have been memorised and closed-book accuracy should be near zero.

How: ``build_world`` draws a consistent fictional world from ``random.Random(SEED)``. ``render_documents``
writes one encyclopedic article per entity (and one per competition edition), choosing among several
phrasings and padding with fact-free colour sentences. Every sentence that states a fact records it as
``(entity id, relation)``, so the script knows exactly which documents state which facts. Facts are
spread: a person's article names their employer but not its headquarters, a company's article names its
founder but not the founder's birthplace, and so on; some relations are stated on both sides (spouses,
products a company lists, a founder's article that mentions the firm), which is what makes shortcuts
possible and is why evidence is computed rather than assumed. Distractors: companies sharing a stem
("X Instruments" / "X Industries"), cities that differ by a vowel or an "Upper"/"New" prefix, people with
the same first name and a near-identical surname, product lines, competitions sharing a stem, runners-up,
and colour sentences that name other cities and people.

Questions come from templates that follow a chain of facts (e.g. product -> maker -> headquarters ->
population). A candidate is kept only if the smallest set of documents stating all of its chain facts is
unique and has 2-4 members: that set is ``evidence_docids`` and its size is ``hops``. Its gold trajectory
searches, for each chain fact not yet covered, with a query made of names known at that point plus a
keyword, and fetches the evidence document that states the fact, which must be in that query's BM25 top 5.

Verification (exit status 1 on any failure): docids unique; 2,000-4,000 documents of 60-300 words;
60-80 questions; every evidence docid exists; hops equals the number of evidence documents, which is the
unique minimum cover of the chain facts; every chain value appears (as a whole word) in the evidence
document that states it, and the answer itself appears in an evidence document unless it is computed (a
difference of two years, which is recomputed); no answer appears in its question; every gold search
retrieves, in BM25's top 5, the evidence document fetched next; the trajectory's retrieved and fetched
docids cover the evidence and it fetches exactly the evidence; tasks/search/ stays under 4 MB. It prints a
summary, including BM25 recall@5 with the question text as the query (reported, not checked), and writes
the same numbers into tasks/search/README.md.

BM25 here is the search adapter's default retriever rebuilt in memory (Tantivy, English stemming, title and
text), so the gold searches are checked against what the harness will really return.

Usage: python3 scripts/make_search_corpus.py   (standard library + tantivy; reruns give identical bytes)
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20251122
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tasks" / "search"
NOW = 2024
DOC_RANGE = (2000, 4000)
WORD_RANGE = (60, 300)
HOP_QUOTAS = {2: 24, 3: 26, 4: 22}
PER_TEMPLATE = 3
TRIES = 40
MAX_BYTES = 4_000_000

Fact = tuple[str, str]  # (entity id, relation)
Value = str | int

COUNT_RELATIONS = frozenset({"population", "employees", "attendance", "students", "titles", "length"})

# ----------------------------------------------------------------------------------------------------
# Names

ONSETS = ("b", "br", "d", "dr", "f", "g", "h", "k", "kr", "l", "m", "n", "p", "r", "s", "sk", "st", "t",
          "th", "tr", "v", "vr", "z")
INNER_ONSETS = ("d", "k", "l", "m", "n", "r", "s", "t", "v")
VOWELS = ("a", "a", "e", "e", "i", "o", "o", "u", "ae", "ei", "au")
END_CODAS = ("", "", "n", "r", "l", "s", "th", "k", "m", "nd", "v", "rk", "st", "x")
MID_CODAS = ("", "", "", "n", "r", "l", "s")
FIRST_ENDINGS = ("a", "o", "en", "is", "el", "ia", "ir", "an", "et", "")
SURNAME_ENDINGS = ("vek", "holt", "ander", "ric", "wyn", "ovin", "ard", "esk", "mar", "ling", "", "")
PLACE_ENDINGS = ("", "", "", "", "", "", "vall", "ost", "enne", "amar", "isk", "heim")
EXOTIC = re.compile(r"ae|ei|au|vr|kr|sk|th|x|z|dr|vek|holt|wyn")


class Names:
    """Invented words, each handed out once (compared case-insensitively)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def claim(self, word: str) -> bool:
        if word.lower() in self.used or not self.looks_invented(word):
            return False
        self.used.add(word.lower())
        return True

    def syllables(self, count: int) -> str:
        rng = self.rng
        parts: list[str] = []
        for i in range(count):
            onset = "" if i == 0 and rng.random() < 0.15 else rng.choice(ONSETS)
            vowel = rng.choice(VOWELS)
            if i > 0:
                onset = rng.choice(INNER_ONSETS) if parts[-1][-1] not in "aeiou" else onset
                vowel = vowel[0]
            parts.append(onset + vowel + rng.choice(END_CODAS if i == count - 1 else MID_CODAS))
        return "".join(parts).capitalize()

    def fresh(self, make: Callable[[], str]) -> str:
        while True:
            word = make()
            if self.claim(word):
                return word

    @staticmethod
    def looks_invented(word: str) -> bool:
        """At least four letters and one of a few sounds that make a word unlikely to be a real name."""
        return len(word) >= 4 and bool(EXOTIC.search(word.lower()))

    def unclaimed(self, count: int) -> str:
        """A word that is no entity's name, for colour; it may recur."""
        while True:
            word = self.syllables(count)
            if word.lower() not in self.used and self.looks_invented(word):
                return word

    def word(self, count: int = 2, endings: tuple[str, ...] = ("",)) -> str:
        return self.fresh(lambda: self.syllables(count) + self.rng.choice(endings))

    def first_name(self) -> str:
        return self.fresh(lambda: self.syllables(self.rng.choice((1, 2))) + self.rng.choice(FIRST_ENDINGS))

    def surname(self) -> str:
        return self.fresh(lambda: self.syllables(1) + self.rng.choice(SURNAME_ENDINGS)
                          if self.rng.random() < 0.6 else self.syllables(2))

    def mutate(self, word: str) -> str | None:
        """``word`` with one vowel changed, e.g. Varnholt -> Vernholt; None if every variant is taken."""
        spots = [i for i, ch in enumerate(word) if ch.lower() in "aeiou"]
        variants = [word[:i] + (v.upper() if i == 0 else v) + word[i + 1:]
                    for i in spots for v in "aeiou" if v != word[i].lower()]
        self.rng.shuffle(variants)
        for variant in variants:
            if self.claim(variant):
                return variant
        return None


# ----------------------------------------------------------------------------------------------------
# The world


@dataclass
class Entity:
    id: str
    kind: str
    name: str
    attrs: dict[str, Value] = field(default_factory=dict)

    def __getitem__(self, relation: str) -> Value:
        return self.attrs[relation]

    def get(self, relation: str) -> Value | None:
        return self.attrs.get(relation)


class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names = Names(rng)
        self.entities: dict[str, Entity] = {}
        self.by_kind: dict[str, list[Entity]] = {}
        self.first_names = [self.names.first_name() for _ in range(320)]
        self.surnames = [self.names.surname() for _ in range(560)]
        self.full_names: set[str] = set()

    def add(self, kind: str, name: str, /, **attrs: Value) -> Entity:
        entity = Entity(f"{kind}:{len(self.by_kind.get(kind, []))}", kind, name, dict(attrs))
        self.entities[entity.id] = entity
        self.by_kind.setdefault(kind, []).append(entity)
        return entity

    def __getitem__(self, eid: Value) -> Entity:
        return self.entities[str(eid)]

    def of(self, kind: str, having: Iterable[str] = ()) -> list[Entity]:
        needed = tuple(having)
        return [e for e in self.by_kind.get(kind, []) if all(e.get(r) is not None for r in needed)]

    def show(self, fact: Fact) -> str:
        """A fact's value as the documents write it."""
        entity_id, relation = fact
        return self.render(relation, self[entity_id][relation])

    def render(self, relation: str, value: Value) -> str:
        if isinstance(value, int):
            return f"{value:,}" if relation in COUNT_RELATIONS else str(value)
        return self.entities[value].name if value in self.entities else value


COUNTRY_SUFFIXES = (("ia", "ian"), ("ora", "oran"), ("esh", "eshi"), ("and", "andic"))
SECTORS = {
    "Instruments": ("precision-instrument maker", ("barometer", "theodolite", "chronometer", "tide gauge")),
    "Motors": ("vehicle manufacturer", ("motorcycle", "delivery van", "tractor", "touring car")),
    "Optics": ("optics company", ("camera", "pair of binoculars", "slide projector", "telescope")),
    "Foods": ("food producer", ("biscuit", "tinned soup", "breakfast cereal", "fruit cordial")),
    "Textiles": ("textile manufacturer", ("wool blanket", "raincoat", "linen shirt", "carpet")),
    "Ceramics": ("ceramics manufacturer", ("dinner service", "floor tile", "teapot", "stoneware jug")),
    "Electric": ("electrical-goods maker", ("radio receiver", "electric kettle", "desk fan", "refrigerator")),
    "Brewing": ("brewery", ("lager", "stout", "cider", "wheat beer")),
    "Shipyards": ("shipbuilder", ("ferry", "trawler", "tugboat", "cargo barge")),
    "Pharmaceuticals": ("pharmaceutical company", ("cough syrup", "antiseptic cream", "vitamin tablet")),
    "Industries": ("industrial group", ("lathe", "boiler", "steel girder", "water pump")),
    "Systems": ("technology company", ("accounting program", "tablet computer", "cash register")),
}
PUBLISHER_SECTORS = {"Press": "publishing house", "Books": "publishing house", "Pictures": "film studio",
                     "Films": "film studio"}
EVENT_KINDS = {
    "Regatta": ("rowing regatta", "rower", "crews"),
    "Chess Open": ("chess tournament", "chess player", "players"),
    "Marathon": ("marathon", "long-distance runner", "runners"),
    "Piano Competition": ("piano competition", "pianist", "pianists"),
    "Cycling Classic": ("one-day cycle race", "cyclist", "riders"),
    "Poetry Prize": ("poetry competition", "poet", "poets"),
    "Violin Competition": ("violin competition", "violinist", "violinists"),
    "Orienteering Cup": ("orienteering race", "orienteer", "competitors"),
    "Glassblowing Contest": ("glassblowing contest", "glassblower", "glassblowers"),
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
SPORTS = ("football", "ice hockey", "handball", "basketball", "rugby")
CLUB_SUFFIXES = ("Rovers", "Athletic", "Wanderers", "Sporting", "Harriers", "Falcons", "Rangers", "Mariners")
STADIUM_SUFFIXES = ("Park", "Arena", "Ground", "Stadium", "Field")
UNIVERSITY_PATTERNS = ("{} University", "{} Institute of Technology", "{} College", "{} Polytechnic")
JOB_OCCUPATIONS = ("accountant", "chemist", "mechanical engineer", "sales manager", "marketing director",
                   "machinist", "company lawyer", "laboratory technician", "draughtsman", "quality inspector",
                   "personnel officer", "logistics planner", "electrical engineer", "financial analyst")
FREE_OCCUPATIONS = ("schoolteacher", "journalist", "botanist", "painter", "cartographer", "translator",
                    "photographer", "surgeon", "historian", "civil servant", "architect", "pharmacist")
SUBJECTS = ("chemistry", "mechanical engineering", "law", "economics", "history", "physics", "architecture",
            "mathematics", "literature", "medicine", "music", "geography", "philosophy", "biology")


def span(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, max(low, high))


def log_uniform(rng: random.Random, low: float, high: float, step: int) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))) // step * step)


def make_countries(w: World, count: int) -> None:
    for _ in range(count):
        stem = w.names.word(2)
        suffix, demonym = w.rng.choice(COUNTRY_SUFFIXES)
        name = stem.rstrip("aeiou") + suffix
        w.names.claim(name)
        w.add("country", name, demonym=stem.rstrip("aeiou") + demonym, currency=w.names.word(1).lower(),
              language=stem.rstrip("aeiou") + demonym)


def make_rivers(w: World, count: int) -> None:
    for _ in range(count):
        country = w.rng.choice(w.of("country"))
        w.add("river", f"{w.names.word(2)} River", country=country.id, length=w.rng.randrange(60, 1400, 5))


def add_city(w: World, name: str, country: Entity, founded: int) -> Entity:
    rivers = [r for r in w.of("river") if r["country"] == country.id]
    city = w.add("city", name, country=country.id, founded=founded,
                 population=log_uniform(w.rng, 3000, 900_000, 10))
    if rivers and w.rng.random() < 0.85:
        city.attrs["river"] = w.rng.choice(rivers).id
    return city


def make_cities(w: World, count: int, near_duplicates: int) -> None:
    rng = w.rng
    for _ in range(count):
        add_city(w, w.names.word(2, PLACE_ENDINGS), rng.choice(w.of("country")),
                 span(rng, 780, 1880))
    for country in w.of("country"):
        capital = rng.choice([c for c in w.of("city") if c["country"] == country.id])
        country.attrs["capital"] = capital.id
        capital.attrs["population"] = log_uniform(rng, 300_000, 2_500_000, 10)
    for original in rng.sample(w.of("city"), near_duplicates):
        name = w.names.mutate(original.name) if rng.random() < 0.5 else None
        if name is None:
            name = f"{rng.choice(('Upper', 'New', 'Old', 'Port'))} {original.name}"
            w.names.claim(name)
        twin = add_city(w, name, rng.choice(w.of("country")), span(rng, 780, 1880))
        twin.attrs["twin"] = original.id
        original.attrs["twin"] = twin.id


def new_person(w: World, born: int, occupation: str) -> Entity:
    """A person born in ``born`` in a city that existed by then; dead if born before 1932."""
    rng = w.rng
    people = w.of("person")
    if people and rng.random() < 0.07:
        model = rng.choice(people)
        first, last = model.name.split(" ", 1)
        last = w.names.mutate(last) or w.names.surname()
    else:
        first = rng.choice(w.first_names) if rng.random() < 0.8 else w.names.first_name()
        last = rng.choice(w.surnames) if rng.random() < 0.75 else w.names.surname()
    while f"{first} {last}" in w.full_names:
        last = w.names.surname()
    w.full_names.add(f"{first} {last}")
    birthplace = rng.choice([c for c in w.of("city") if int(c["founded"]) < born])
    person = w.add("person", f"{first} {last}", born_year=born, born_in=birthplace.id, occupation=occupation,
                   gender=rng.choice("fm"))
    if born < 1932:
        person.attrs["died"] = min(NOW - 1, born + span(rng, 58, 96))
    return person


def make_universities(w: World, count: int) -> None:
    rng = w.rng
    for _ in range(count):
        city = rng.choice(w.of("city"))
        uni = w.add("university", rng.choice(UNIVERSITY_PATTERNS).format(w.names.word(2)), city=city.id,
                    founded=span(rng, int(city["founded"]) + 40, 1985),
                    students=log_uniform(rng, 900, 42_000, 10))
        uni.attrs["rector"] = new_person(w, span(rng, 1946, 1972), "academic").id


def make_companies(w: World, stems: int) -> None:
    rng = w.rng
    for _ in range(stems):
        stem = w.names.word(rng.choice((1, 2, 2)), ("", "", "", "", "holt", "ex", "ia"))
        copies = 1 + (rng.random() < 0.3) + (rng.random() < 0.08)
        for suffix in rng.sample(sorted(SECTORS), copies):
            add_company(w, f"{stem} {suffix}", suffix, span(rng, 1840, 2012))
    for suffix in sorted(PUBLISHER_SECTORS) * 5:
        add_company(w, f"{w.names.word(2)} {suffix}", suffix,
                    span(rng, 1850 if suffix in ("Press", "Books") else 1905, 1990))


def add_company(w: World, name: str, sector: str, founded: int) -> None:
    rng = w.rng
    hq = rng.choice([c for c in w.of("city") if int(c["founded"]) < founded])
    founder = new_person(w, founded - span(rng, 24, 58), rng.choice(("industrialist", "engineer",
                                                                          "entrepreneur", "merchant")))
    company = w.add("company", name, sector=sector, founded=founded, hq=hq.id, founder=founder.id,
                    employees=log_uniform(rng, 40, 60_000, 10))
    ceo = new_person(w, span(rng, 1950, 1988), "business executive")
    company.attrs["ceo"] = ceo.id
    company.attrs["ceo_since"] = span(rng, max(founded, int(ceo["born_year"]) + 35), NOW - 1)
    employ(w, ceo, company, int(company["ceo_since"]))


def employ(w: World, person: Entity, company: Entity, by: int) -> None:
    """``person`` joins ``company`` at 22 or later, once it exists, and no later than ``by``."""
    person.attrs["employer"] = company.id
    person.attrs["joined"] = span(w.rng, max(int(person["born_year"]) + 22, int(company["founded"])), by)


def make_products(w: World) -> None:
    rng = w.rng
    for maker in w.of("company"):
        if maker["sector"] not in SECTORS:
            continue
        for _ in range(rng.choice((1, 1, 2))):
            brand = w.names.word(2)
            kind = rng.choice(SECTORS[str(maker["sector"])][1])
            models = rng.sample(range(2, 99), rng.choice((1, 1, 2, 2, 3)))
            designers: list[Entity] = []
            for model in sorted(models):
                year = span(rng, int(maker["founded"]) + 1, NOW - 1)
                reusable = [d for d in designers if 24 <= year - int(d["born_year"]) <= 62]
                designer = reusable[0] if reusable and rng.random() < 0.5 else \
                    new_person(w, year - span(rng, 26, 55), rng.choice(("industrial designer", "engineer")))
                if "employer" not in designer.attrs:
                    employ(w, designer, maker, year)
                designers.append(designer)
                w.add("product", f"{brand} {model * 10 if model < 10 else model}", kind=kind, maker=maker.id,
                      year=year, designer=designer.id)


def make_events(w: World, count: int) -> None:
    rng = w.rng
    stems: list[str] = []
    for _ in range(count):
        stem = rng.choice(stems) if stems and rng.random() < 0.25 else w.names.word(2)
        kinds = [k for k in sorted(EVENT_KINDS) if f"{stem} {k}" not in {e.name for e in w.of("event")}]
        kind = rng.choice(kinds)
        stems.append(stem)
        first = span(rng, 1880, 2012)
        city = rng.choice([c for c in w.of("city") if int(c["founded"]) < first - 20])
        founder = new_person(w, first - span(rng, 28, 56), rng.choice(("patron", "sports official",
                                                                           "teacher", "businessman")))
        event = w.add("event", f"{stem} {kind}", kind=kind, city=city.id, first_year=first,
                      founder=founder.id, month=rng.choice(MONTHS))
        years = rng.sample(range(max(first + 1, 1955), NOW), rng.choice((3, 4, 4)))
        for year in sorted(years):
            add_edition(w, event, year)


def add_edition(w: World, event: Entity, year: int) -> None:
    rng = w.rng
    occupation = EVENT_KINDS[str(event["kind"])][1]
    earlier = [e["winner"] for e in w.of("edition") if e["event"] == event.id]
    champions = [w[p] for p in earlier if 19 <= year - int(w[p]["born_year"]) <= 40]
    winner = champions[0] if champions and rng.random() < 0.3 else \
        new_person(w, year - span(rng, 19, 38), occupation)
    rivals = [p for p in w.of("person") if p["occupation"] == occupation and p is not winner
              and 19 <= year - int(p["born_year"]) <= 40]
    runner_up = rng.choice(rivals) if rivals and rng.random() < 0.6 else \
        new_person(w, year - span(rng, 19, 38), occupation)
    w.add("edition", f"{year} {event.name}", event=event.id, year=year, winner=winner.id,
          runner_up=runner_up.id, attendance=log_uniform(rng, 800, 60_000, 10),
          competitors=span(rng, 18, 240))


def make_clubs(w: World, count: int) -> None:
    rng = w.rng
    for city in rng.sample(w.of("city"), count):
        sport = rng.choice(SPORTS)
        coach = new_person(w, span(rng, 1956, 1990), f"{sport} coach")
        w.add("club", f"{w.names.word(2)} {rng.choice(CLUB_SUFFIXES)}", sport=sport, city=city.id,
              founded=span(rng, max(1870, int(city["founded"]) + 1), 1990),
              stadium=f"{w.names.word(2)} {rng.choice(STADIUM_SUFFIXES)}", coach=coach.id,
              titles=span(rng, 2, 24))


def work_title(w: World, stem: str) -> str:
    noun = w.rng.choice(("Lanterns", "Winter", "Clockmaker", "Orchards", "Ferryman", "Salt Roads", "Bells",
                         "Glass House", "Last Harvest", "Cartographer", "Tidewater", "Long Night"))
    pattern = w.rng.choice(("The {n} of {s}", "{s} at Dusk", "Letters from {s}", "The {s} Affair",
                            "{s}'s {n}", "A Summer in {s}", "The {n} of {s}"))
    return pattern.format(n=noun, s=stem)


def make_works(w: World, creators: int) -> None:
    rng = w.rng
    titles: set[str] = set()
    for _ in range(creators):
        form = "novel" if rng.random() < 0.62 else "film"
        born = span(rng, 1880, 1985)
        creator = new_person(w, born, "novelist" if form == "novel" else "film director")
        stem = w.names.word(2)
        for number in range(rng.choice((1, 1, 1, 2, 2, 3))):
            year = span(rng, born + 25, min(NOW - 1, born + 55))
            houses = [c for c in w.of("company") if c["sector"] in PUBLISHER_SECTORS
                      and (PUBLISHER_SECTORS[str(c["sector"])] == "film studio") == (form == "film")
                      and int(c["founded"]) < year]
            title = work_title(w, stem if number == 0 or rng.random() < 0.6 else w.names.word(2))
            if not houses or title in titles:
                continue
            titles.add(title)
            w.add("work", title, form=form, creator=creator.id, year=year, publisher=rng.choice(houses).id,
                  setting=rng.choice(w.of("city")).id)


def make_mayors(w: World) -> None:
    for city in w.of("city"):
        mayor = new_person(w, span(w.rng, 1950, 1985), "politician")
        city.attrs["mayor"] = mayor.id
        city.attrs["mayor_since"] = span(w.rng, max(2004, int(mayor["born_year"]) + 32), NOW - 1)


def make_ordinary_people(w: World, count: int) -> None:
    rng = w.rng
    for _ in range(count):
        born = span(rng, 1900, 1998)
        employers = [c for c in w.of("company") if int(c["founded"]) <= born + 40]
        if employers and rng.random() < 0.8:
            person = new_person(w, born, rng.choice(JOB_OCCUPATIONS))
            employ(w, person, rng.choice(employers), min(born + 40, int(person.get("died") or NOW) - 1))
        else:
            new_person(w, born, rng.choice(FREE_OCCUPATIONS))


def add_education_and_marriages(w: World) -> None:
    rng = w.rng
    for person in w.of("person"):
        born = int(person["born_year"])
        options = [u for u in w.of("university") if int(u["founded"]) <= born + 18]
        if options and rng.random() < 0.55:
            person.attrs["studied_at"] = rng.choice(options).id
            person.attrs["subject"] = rng.choice(SUBJECTS)
    single = sorted(w.of("person"), key=lambda p: (int(p["born_year"]), p.id))
    for a, b in itertools.pairwise(single):
        if "spouse" in a.attrs or "spouse" in b.attrs or rng.random() > 0.55:
            continue
        year = max(int(a["born_year"]), int(b["born_year"])) + span(rng, 21, 34)
        deaths = [int(p["died"]) for p in (a, b) if "died" in p.attrs]
        if year < min(deaths + [NOW]):
            a.attrs.update(spouse=b.id, married=year)
            b.attrs.update(spouse=a.id, married=year)


def build_world(rng: random.Random) -> World:
    w = World(rng)
    make_countries(w, 8)
    make_rivers(w, 26)
    make_cities(w, 118, 14)
    make_universities(w, 22)
    make_companies(w, 130)
    make_products(w)
    make_events(w, 46)
    make_clubs(w, 52)
    make_works(w, 130)
    make_mayors(w)
    make_ordinary_people(w, 170)
    add_education_and_marriages(w)
    return w


# ----------------------------------------------------------------------------------------------------
# Documents


@dataclass
class Doc:
    title: str
    home: str  # the entity the article is about
    sentences: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    docid: str = ""

    def say(self, sentence: str, *facts: Fact) -> None:
        self.sentences.append(sentence)
        self.facts.extend(facts)

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def words(text: str) -> int:
    return len(text.split())


def article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


PRONOUNS = {"f": ("she", "her", "her", "wife"), "m": ("he", "his", "him", "husband")}
FIELDS = {"novelist": "literature", "film director": "cinema", "politician": "public life",
          "academic": "higher education", "business executive": "industry", "industrialist": "industry",
          "entrepreneur": "industry", "engineer": "engineering", "industrial designer": "design"}

PERSON_COLOUR = (
    "{Last} was known among colleagues for keeping meticulous notebooks, several of which survive.",
    "In {year} {he} received the {Word} Medal for {his} contribution to {field}.",
    "Outside work {he} was a keen amateur {hobby}.",
    "A short biography of {him}, titled {Word} Years, appeared in {year}.",
    "{His} letters and papers are held by the {Word} Archive in {city}.",
    "{Last} wrote occasional essays on {field} for the {Word} Gazette.",
    "Friends described {him} as reserved in public but generous with {his} time.",
    "In {year} {he} spent several months in {city}, an experience {he} later called formative.",
    "{He} sat for some years on the board of the {Word} Society.",
    "A portrait of {him} by the painter {person} hangs in the town hall of {city}.",
    "{His} younger {sibling}, {First2} {Last}, became {a_occ2} {occ2}.",
    "{He} spoke three languages and travelled widely in {his} youth.",
    "{Last} was an early supporter of the {Word} Trust, a charity for young people in {city}.",
    "{He} took up {hobby2} as a pastime, and {his} work was shown at a small exhibition in {year}.",
    "{Last} often said that {his} interest in {field} began with a visit to {city} as a child.",
    "Between {year} and {year2} {he} lived in a flat overlooking the harbour in {city}.",
    "{Last} was a founding member of a small {hobby2} circle that met weekly in {city}.",
    "{His} collection of {collection} was donated to a museum in {city} in {year}.",
    "During the {decade}s {he} spent {his} summers walking in the hills near {city}.",
    "{He} was an accomplished {hobby} and competed at regional level in {his} twenties.",
    "A street in {city} was named after {him} in {year}.",
    "{Last} kept up a long correspondence with the {occ2} {person}, published in {year}.",
    "In {year} {he} declined an offer to stand for election to the regional council.",
    "{His} memoir, {Word} and After, was well received by reviewers.",
    "{He} taught evening classes in {subject} for several years.",
)
COMPANY_COLOUR = (
    "{Name} was listed on the {Word} Stock Exchange in {year}.",
    "During the {decade}s it opened sales offices in {city} and {city2}.",
    "Its logo, a stylised {animal}, was introduced in {year}.",
    "In {year} a fire destroyed part of the original premises, which were rebuilt within two years.",
    "The firm runs an apprenticeship programme that takes on about {small} trainees a year.",
    "Annual revenue was reported at {money} million {currency} in {year}.",
    "It also operates a large site on the outskirts of {city}.",
    "The company archive holds early catalogues, price lists and workshop drawings.",
    "{Name} has won several national awards for industrial design.",
    "In {year} it bought a smaller rival, {Word} & Sons, and absorbed its staff.",
    "A long strike in {year} ended with a new wage agreement that set a pattern for the industry.",
    "The company sponsors a music festival in {city} and an annual prize for young engineers.",
    "Its first premises, a two-storey brick building, are now a listed monument.",
    "The firm was partly owned by the {Word} family until {year}.",
)
CITY_COLOUR = (
    "The old town is known for its {material} houses and for the {Word} Bridge, completed in {year}.",
    "{Name} is twinned with {city}.",
    "The local economy has traditionally relied on {industry} and {industry2}.",
    "A railway line reached {Name} in {modern}, linking it with {city}.",
    "Every {weekday} the {Word} Market fills the main square.",
    "The {Word} Cathedral, rebuilt after a fire in {year}, dominates the skyline.",
    "Winters are {winter} and summers are {summer}.",
    "The municipal museum holds a collection of {collection}.",
    "Much of the historic centre was restored in the {decade}s.",
    "The city is divided into {small} districts.",
    "Its botanical garden, laid out in {year}, is one of the oldest in the region.",
    "The writer {person} lived in {Name} for more than a decade.",
    "The {Word} Tower, a former grain store, offers views over the surrounding countryside.",
    "A new tram network opened in {modern}.",
)
UNIVERSITY_COLOUR = (
    "It is organised into {small} faculties, including {subject} and {subject2}.",
    "The university library holds about {money},000 volumes.",
    "Its motto, '{Word} {word}', is taken from an old local proverb.",
    "The main building was completed in {year} to designs by the architect {person}.",
    "The university has exchange agreements with institutions in {city} and {city2}.",
    "Its observatory, built in {year}, is open to the public on Friday evenings.",
    "Teaching was suspended for a year in {year} while a new campus was built.",
    "The students' union publishes a weekly newspaper, the {Word} Courier.",
)
PRODUCT_COLOUR = (
    "Around {money},000 units were sold in the first year.",
    "Reviewers praised its {virtue} but criticised its {flaw}.",
    "A revised version with minor changes followed a few years later.",
    "Examples can be seen at the {Word} Museum of Technology in {city}.",
    "At launch it cost {money} {currency}.",
    "It was exported to several neighbouring countries.",
    "Early units suffered from a fault that was corrected after a recall.",
    "A trade journal named it product of the year in {year}.",
    "Collectors value early examples with the original packaging.",
)
EVENT_COLOUR = (
    "The event takes place every {month} and lasts {days} days.",
    "Prize money was raised to {money} {currency} in {year}.",
    "Since {year} the final stages have been broadcast on regional radio.",
    "The organisers also award a separate prize to the best newcomer.",
    "The winner receives the {Word} Trophy, a silver cup donated in {year}.",
    "Entries close at the end of {month2}, and {participants} from several countries take part.",
    "The event is run by volunteers and funded mainly by ticket sales.",
    "A junior section was added in {year}.",
)
EDITION_COLOUR = (
    "Conditions were {weather} throughout.",
    "The winner received {money} {currency} and the {Word} Trophy.",
    "Local newspapers called it one of the closest contests in the event's history.",
    "It was the first edition to be shown on national television.",
    "A record number of volunteers helped to run the event.",
    "The opening ceremony was led by a local choir.",
    "Several favourites withdrew before the start because of illness.",
)
CLUB_COLOUR = (
    "The club's colours are {colour} and {colour2}.",
    "Its supporters are nicknamed the {Word}s.",
    "The club runs a youth academy that has produced several national team players.",
    "Its fiercest rivalry is with {club}.",
    "The stadium was renovated in {year}, when a roof was added to the main stand.",
    "The club was relegated once, in {year}, but returned to the top division a season later.",
    "Its record attendance was set in a cup match in {year}.",
)
NOVEL_COLOUR = (
    "The story follows {First2} {Word}, {a_occ2} {occ2}, over {small} turbulent years.",
    "It has been translated into {small} languages.",
    "Critics praised its {quality}.",
    "It won the {Word} Prize for fiction in {year}.",
    "The first edition sold out within weeks.",
    "It is frequently set as a school text.",
)
FILM_COLOUR = (
    "The film stars {First2} {Word} in the leading role.",
    "It premiered at the {Word} Film Festival in {year}.",
    "Although it is set there, most scenes were shot on location in {city}.",
    "Its score was written by the composer {person}.",
    "It runs for {minutes} minutes.",
    "Critics praised its {quality}.",
)
RIVER_COLOUR = (
    "Its main tributaries are the {Word} and the {Word2}.",
    "The river was an important trade route until the railways arrived.",
    "Several dams were built along its course in the {decade}s.",
    "It is popular with anglers and, in summer, with canoeists.",
    "Floods in {year} caused serious damage along its lower course.",
)
COUNTRY_COLOUR = (
    "The country is known for its {industry} and {industry2}.",
    "Its parliament has {money} seats.",
    "It became a republic in {year}.",
    "Much of the interior is covered by forest and upland pasture.",
)
HOBBIES = ("astronomer", "beekeeper", "cellist", "mountaineer", "sailor", "gardener", "fencer")
LATE_HOBBIES = ("watercolour painting", "woodcarving", "photography", "pottery", "bookbinding")
ANIMALS = ("heron", "stag", "owl", "fox", "swallow", "bear", "salmon", "lynx")
MATERIALS = ("half-timbered", "sandstone", "brick", "whitewashed", "slate-roofed")
INDUSTRIES = ("shipbuilding", "brewing", "timber", "textiles", "fishing", "tourism", "mining", "glassmaking",
              "printing", "wine")
COLLECTIONS = ("medieval coins", "folk costume", "clocks", "maps and charts", "local pottery")
WEATHER = ("cold and wet", "warm and dry", "windy", "unusually hot", "foggy")
QUALITIES = ("dialogue", "atmosphere", "structure", "humour", "restraint", "ambition")
COLOURS = ("red", "white", "blue", "green", "black", "gold", "maroon", "sky blue")


class Colour:
    """Fact-free sentences: random years in ``years``, other cities and people as distractor mentions."""

    def __init__(self, w: World, rng: random.Random) -> None:
        self.w = w
        self.rng = rng
        self.currencies = sorted(str(c["currency"]) for c in w.of("country"))
        self.cities = [c.name for c in w.of("city")]
        self.clubs = [c.name for c in w.of("club")]

    def phantom(self) -> str:
        """A person's name that belongs to nobody in the world."""
        while True:
            name = f"{self.rng.choice(self.w.first_names)} {self.rng.choice(self.w.surnames)}"
            if name not in self.w.full_names:
                return name

    def values(self, years: tuple[int, int], fixed: dict[str, str]) -> dict[str, str]:
        rng, w = self.rng, self.w
        year = span(rng, years[0], years[1])
        occ2 = rng.choice(JOB_OCCUPATIONS + FREE_OCCUPATIONS)
        first2 = rng.choice(w.first_names)
        while f"{first2} {fixed.get('Last')}" in w.full_names:
            first2 = rng.choice(w.first_names)
        industry, industry2 = rng.sample(INDUSTRIES, 2)
        subject, subject2 = rng.sample(SUBJECTS, 2)
        drawn = dict(  # noqa: C408 - keyword form keeps the many keys readable
            year=str(year), year2=str(span(rng, year + 2, year + 12)), decade=str(year // 10 * 10),
            modern=str(span(rng, max(year, 1860), 2015)), city=rng.choice(self.cities),
            city2=rng.choice(self.cities), person=self.phantom(), club=rng.choice(self.clubs),
            Word=w.names.unclaimed(2), Word2=w.names.unclaimed(2), word=w.names.unclaimed(2).lower(),
            First2=first2, occ2=occ2, a_occ2=article(occ2),
            sibling=rng.choice(("brother", "sister")), small=str(rng.randint(3, 14)),
            money=str(rng.randint(12, 480)), currency=rng.choice(self.currencies),
            minutes=str(rng.randint(84, 171)), days=str(rng.randint(2, 9)), month=rng.choice(MONTHS),
            month2=rng.choice(MONTHS), weekday=rng.choice(("Monday", "Wednesday", "Saturday", "Sunday")),
            hobby=rng.choice(HOBBIES), hobby2=rng.choice(LATE_HOBBIES), animal=rng.choice(ANIMALS),
            material=rng.choice(MATERIALS), industry=industry, industry2=industry2,
            collection=rng.choice(COLLECTIONS), winter=rng.choice(("cold", "mild", "long and snowy")),
            summer=rng.choice(("warm", "short", "dry and hot")), subject=subject,
            subject2=subject2, virtue=rng.choice(("reliability", "low price", "elegant styling",
                                                              "light weight", "durability")),
            flaw=rng.choice(("noise", "weight", "short warranty", "high running costs")),
            weather=rng.choice(WEATHER), quality=rng.choice(QUALITIES), colour=rng.choice(COLOURS[:4]),
            colour2=rng.choice(COLOURS[4:]))
        return {**drawn, **fixed}

    def pad(self, doc: Doc, bank: tuple[str, ...], years: tuple[int, int], fixed: dict[str, str],
            length: tuple[int, int] = (75, 170)) -> None:
        """Append colour sentences until the article reaches a random length drawn from ``length``."""
        target = self.rng.randint(*length)
        for template in self.rng.sample(bank, len(bank)):
            if words(doc.text) >= target:
                break
            sentence = template.format_map(self.values(years, fixed))
            if words(doc.text) + words(sentence) <= WORD_RANGE[1] - 10:
                doc.say(sentence)


def person_fixed(p: Entity) -> dict[str, str]:
    he, his, him, _ = PRONOUNS[str(p["gender"])]
    first, last = p.name.split(" ", 1)
    return {"First": first, "Last": last, "he": he, "his": his, "him": him, "He": he.capitalize(),
            "His": his.capitalize(), "field": FIELDS.get(str(p["occupation"]), "public life")}


def role_sentences(w: World) -> dict[str, list[tuple[str, tuple[Fact, ...]]]]:
    """Per person, sentences (with the facts they state) that mention roles held elsewhere in the world."""
    out: dict[str, list[tuple[str, tuple[Fact, ...]]]] = {}

    def add(person: Value, text: str, *facts: Fact) -> None:
        out.setdefault(str(person), []).append((text, facts))

    for c in w.of("company"):
        add(c["founder"], f"{{He}} is best remembered as the founder of {c.name}.", (c.id, "founder"))
        add(c["ceo"], f"Since {c['ceo_since']} {{he}} has been chief executive of {c.name}.", (c.id, "ceo"))
    for city in w.of("city"):
        add(city["mayor"], f"{{He}} was elected mayor of {city.name} in {city['mayor_since']}.",
            (city.id, "mayor"))
    for u in w.of("university"):
        add(u["rector"], f"{{He}} is the rector of {u.name}.", (u.id, "rector"))
    for club in w.of("club"):
        add(club["coach"], f"{{He}} is the head coach of {club.name}.", (club.id, "coach"))
    for work in w.of("work"):
        add(work["creator"], f"{{His}} {work['form']} {work.name} appeared in {work['year']}.",
            (work.id, "creator"), (work.id, "year"))
    for product in w.of("product"):
        add(product["designer"], f"{{He}} designed the {product.name}.", (product.id, "designer"))
    for event in w.of("event"):
        add(event["founder"], f"{{He}} established the {event.name}.", (event.id, "founder"))
    for edition in w.of("edition"):
        add(edition["winner"], f"{{He}} won the {edition.name}.", (edition.id, "winner"))
    return out


def render_person(w: World, p: Entity, rng: random.Random, roles: list[tuple[str, tuple[Fact, ...]]],
                  colour: Colour) -> Doc:
    fixed = person_fixed(p)
    he, his, last = fixed["he"], fixed["his"], fixed["Last"]
    doc = Doc(p.name, p.id)
    alive = "died" not in p.attrs
    born_in = w[p["born_in"]]
    demonym = str(w[born_in["country"]]["demonym"])
    occupation = str(p["occupation"])
    is_ = "is" if alive else "was"
    life = f"born {p['born_year']}" if alive else f"{p['born_year']}–{p['died']}"
    if rng.random() < 0.5:
        doc.say(f"{p.name} ({life}) {is_} {article(demonym)} {demonym} {occupation}.", (p.id, "born_year"))
        doc.say(rng.choice((f"{last} was born in {born_in.name}.",
                            f"{he.capitalize()} was born and grew up in {born_in.name}.",
                            f"{last} {is_} a native of {born_in.name}.")), (p.id, "born_in"))
    else:
        doc.say(f"{p.name} {is_} {article(demonym)} {demonym} {occupation}.")
        doc.say(f"{he.capitalize()} was born in {born_in.name} in {p['born_year']}.", (p.id, "born_in"),
                (p.id, "born_year"))
    if "studied_at" in p.attrs:
        uni, subject = w[p["studied_at"]].name, p["subject"]
        doc.say(rng.choice((f"{he.capitalize()} studied {subject} at {uni}.",
                            f"{last} read {subject} at {uni}.",
                            f"{he.capitalize()} graduated in {subject} from {uni}.")), (p.id, "studied_at"))
    if "employer" in p.attrs:
        company, joined = w[p["employer"]].name, p["joined"]
        works = "works" if alive else "worked"
        doc.say(rng.choice((f"In {joined} {he} joined {company} as {article(occupation)} {occupation}.",
                            f"{he.capitalize()} {works} at {company}, which {he} joined in {joined}.",
                            f"{last} {'has spent' if alive else 'spent'} most of {his} career at {company}.")),
                (p.id, "employer"))
    for text, facts in roles:
        if rng.random() < 0.45:
            doc.say(text.format(He=he.capitalize(), His=his.capitalize(), he=he, his=his), *facts)
    if "spouse" in p.attrs:
        spouse = w[p["spouse"]]
        job = str(spouse["occupation"])
        partner = PRONOUNS[str(spouse["gender"])][3]
        doc.say(rng.choice((f"In {p['married']} {he} married {spouse.name}, {article(job)} {job}.",
                            f"{his.capitalize()} {partner}, whom {he} married in {p['married']}, is "
                            f"the {job} {spouse.name}." if alive and "died" not in spouse.attrs else
                            f"{he.capitalize()} married {spouse.name} in {p['married']}.")),
                (p.id, "spouse"), (spouse.id, "spouse"))
    if not alive:
        place = rng.choice(w.of("city")).name
        doc.say(f"{last} died in {place} in {p['died']}.")
    colour.pad(doc, PERSON_COLOUR, (int(p["born_year"]) + 25, min(NOW - 1, int(p.get("died") or NOW))), fixed,
               (65, 135))
    return doc


def currency(w: World, city: Value) -> str:
    return str(w[w[city]["country"]]["currency"])


def sector_description(sector: str) -> str:
    return SECTORS[sector][0] if sector in SECTORS else PUBLISHER_SECTORS[sector]


def render_company(w: World, c: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(c.name, c.id)
    hq = w[c["hq"]]
    demonym = str(w[hq["country"]]["demonym"])
    desc = sector_description(str(c["sector"]))
    founder, ceo = w[c["founder"]].name, w[c["ceo"]].name
    doc.say(rng.choice((f"{c.name} is {article(demonym)} {demonym} {desc} headquartered in {hq.name}.",
                        f"{c.name} is {article(desc)} {desc} with its headquarters in {hq.name}.")), (c.id,
                                                                                                      "hq"))
    doc.say(rng.choice((f"It was founded in {c['founded']} by {founder}.",
                        f"The company was established by {founder} in {c['founded']}.",
                        f"{founder} founded the business in {c['founded']} in a rented workshop.")),
            (c.id, "founded"), (c.id, "founder"))
    stem = c.name.split(" ")[0]
    for other in w.of("company"):
        if other is not c and other.name.split(" ")[0] == stem:
            doc.say(f"It is not related to {other.name}, {article(sector_description(str(other['sector'])))} "
                    f"{sector_description(str(other['sector']))}.")
    doc.say(rng.choice((f"Its chief executive since {c['ceo_since']} has been {ceo}.",
                        f"{ceo} has led the company as chief executive since {c['ceo_since']}.")), (c.id,
                                                                                                    "ceo"))
    doc.say(rng.choice((f"It employs about {c.attrs['employees']:,} people.",
                        f"The company has a workforce of roughly {c.attrs['employees']:,}.",
                        f"In {NOW - 1} it had {c.attrs['employees']:,} employees.")), (c.id, "employees"))
    made = [p for p in w.of("product") if p["maker"] == c.id]
    shown = rng.sample(made, min(len(made), rng.choice((0, 1, 1, 2))))
    if shown:
        items = listing([f"the {p.name} {p['kind']}" for p in shown])
        doc.say(f"Its best-known products include {items}.",
                *[(p.id, "maker") for p in shown])
    works = [x for x in w.of("work") if x["publisher"] == c.id]
    if works and rng.random() < 0.4:
        work = rng.choice(works)
        doc.say(f"Its {'productions' if work['form'] == 'film' else 'titles'} include {work.name}.",
                (work.id, "publisher"))
    colour.pad(doc, COMPANY_COLOUR, (int(c["founded"]) + 5, NOW - 1),
               {"Name": c.name, "currency": currency(w, c["hq"])})
    return doc


def city_size(population: int) -> str:
    return "small town" if population < 15_000 else "town" if population < 80_000 else \
        "city" if population < 400_000 else "major city"


def render_city(w: World, city: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(city.name, city.id)
    country = w[city["country"]]
    size = city_size(int(city["population"]))
    river = w[city["river"]].name if "river" in city.attrs else None
    if river and rng.random() < 0.5:
        doc.say(f"{city.name} is {article(size)} {size} in {country.name}, on the {river}.",
                (city.id, "country"), (city.id, "river"))
    else:
        doc.say(f"{city.name} is {article(size)} {size} in {country.name}.", (city.id, "country"))
        if river:
            doc.say(rng.choice((f"It lies on the banks of the {river}.",
                                f"The {river} flows through the city.")),
                    (city.id, "river"))
    origin = rng.choice(("a river crossing", "a fortified monastery", "a market settlement", "a mining camp",
                         "a fishing harbour", "a royal hunting lodge"))
    doc.say(rng.choice((f"It was founded in {city['founded']} as {origin}.",
                        f"Founded in {city['founded']}, {city.name} grew up around {origin}.")), (city.id,
                                                                                                  "founded"))
    if country["capital"] == city.id:
        doc.say(f"It is the capital of {country.name}.", (country.id, "capital"))
    population = f"{int(city['population']):,}"
    doc.say(rng.choice((f"It has a population of {population}.",
                        f"At the most recent census it had {population} inhabitants.")), (city.id,
                                                                                          "population"))
    mayor = w[city["mayor"]].name
    doc.say(rng.choice((f"The mayor is {mayor}, in office since {city['mayor_since']}.",
                        f"{mayor} has been mayor since {city['mayor_since']}.")), (city.id, "mayor"))
    if "twin" in city.attrs:
        doc.say(f"It should not be confused with {w[city['twin']].name}.")
    colour.pad(doc, CITY_COLOUR, (max(int(city["founded"]) + 60, 1550), NOW - 1), {"Name": city.name})
    return doc


def render_university(w: World, u: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(u.name, u.id)
    city = w[u["city"]].name
    doc.say(rng.choice((f"{u.name} is a public university in {city}, founded in {u['founded']}.",
                        f"{u.name}, founded in {u['founded']}, is a university located in {city}.")),
            (u.id, "city"), (u.id, "founded"))
    doc.say(f"It has about {int(u['students']):,} students.", (u.id, "students"))
    doc.say(f"The current rector is {w[u['rector']].name}.", (u.id, "rector"))
    colour.pad(doc, UNIVERSITY_COLOUR, (int(u["founded"]) + 5, NOW - 1), {})
    return doc


def render_product(w: World, p: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(p.name, p.id)
    kind, maker, designer = str(p["kind"]), w[p["maker"]].name, w[p["designer"]].name
    doc.say(rng.choice((f"The {p.name} is {article(kind)} {kind} made by {maker}.",
                        f"The {p.name} is {article(kind)} {kind} manufactured by {maker}.")), (p.id, "maker"))
    doc.say(rng.choice((f"It was introduced in {p['year']} and designed by {designer}.",
                        f"Designed by {designer}, it went on sale in {p['year']}.")),
            (p.id, "year"), (p.id, "designer"))
    brand = p.name.split(" ")[0]
    siblings = [q.name for q in w.of("product") if q is not p and q.name.split(" ")[0] == brand]
    if siblings:
        doc.say(f"It should not be confused with the {' or the '.join(siblings)}.")
    colour.pad(doc, PRODUCT_COLOUR, (int(p["year"]), NOW - 1), {"currency": currency(w, w[p["maker"]]["hq"])})
    return doc


def render_event(w: World, e: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(e.name, e.id)
    desc, _, participants = EVENT_KINDS[str(e["kind"])]
    founder = w[e["founder"]].name
    doc.say(f"The {e.name} is an annual {desc} held in {w[e['city']].name}.", (e.id, "city"))
    doc.say(rng.choice((f"It was first held in {e['first_year']}, on the initiative of {founder}.",
                        f"{founder} established the event, which was first held in {e['first_year']}.")),
            (e.id, "first_year"), (e.id, "founder"))
    stem = e.name.split(" ")[0]
    for other in w.of("event"):
        if other is not e and other.name.split(" ")[0] == stem:
            doc.say(f"It is a separate event from the {other.name}.")
    colour.pad(doc, EVENT_COLOUR, (int(e["first_year"]) + 3, NOW - 1),
               {"participants": participants, "month": str(e["month"]), "currency": currency(w, e["city"])})
    return doc


def render_edition(w: World, ed: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(ed.name, ed.id)
    event = w[ed["event"]]
    participants = EVENT_KINDS[str(event["kind"])][2]
    winner, runner_up = w[ed["winner"]].name, w[ed["runner_up"]].name
    doc.say(f"The {ed.name} took place in {event['month']} {ed['year']}.")
    doc.say(rng.choice((f"It was won by {winner}, ahead of {runner_up}.",
                        f"{winner} took the title, with {runner_up} finishing second.")), (ed.id, "winner"))
    attendance = f"{int(ed['attendance']):,}"
    doc.say(rng.choice((f"The event drew an attendance of {attendance}.",
                        f"Organisers reported a total attendance of {attendance}.",
                        f"Some {attendance} spectators attended.")), (ed.id, "attendance"))
    doc.say(f"{ed['competitors']} {participants} took part.")
    colour.pad(doc, EDITION_COLOUR, (int(ed["year"]), int(ed["year"])), {"currency": currency(w,
                                                                                              event["city"])})
    return doc


def render_club(w: World, club: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(club.name, club.id)
    doc.say(f"{club.name} is a professional {club['sport']} club based in {w[club['city']].name}.",
            (club.id, "city"))
    doc.say(f"Founded in {club['founded']}, it plays its home matches at {club['stadium']}.",
            (club.id, "founded"), (club.id, "stadium"))
    doc.say(rng.choice((f"The head coach is {w[club['coach']].name}.",
                        f"The team is coached by {w[club['coach']].name}.")), (club.id, "coach"))
    doc.say(f"The club has won {club['titles']} national championships.", (club.id, "titles"))
    colour.pad(doc, CLUB_COLOUR, (int(club["founded"]) + 5, NOW - 1), {})
    return doc


def render_work(w: World, work: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(work.name, work.id)
    creator, house, setting = w[work["creator"]].name, w[work["publisher"]].name, w[work["setting"]].name
    facts = ((work.id, "year"), (work.id, "creator"))
    if work["form"] == "novel":
        doc.say(f"{work.name} is a {work['year']} novel by {creator}.", *facts)
        doc.say(f"It was published by {house}.", (work.id, "publisher"))
        doc.say(rng.choice((f"The story is set in {setting}.", f"It is set in {setting}.")), (work.id,
                                                                                              "setting"))
    else:
        doc.say(f"{work.name} is a {work['year']} film directed by {creator} and produced by {house}.",
                *facts, (work.id, "publisher"))
        doc.say(f"It is set in {setting}.", (work.id, "setting"))
    earlier = [x for x in w.of("work") if x["creator"] == work["creator"] and int(x["year"]) < int(work["year"])]
    if earlier:
        maker = "author" if work["form"] == "novel" else "director"
        doc.say(f"It followed {listing([x.name for x in earlier])} by the same {maker}.",
                *[(x.id, "creator") for x in earlier])
    colour.pad(doc, NOVEL_COLOUR if work["form"] == "novel" else FILM_COLOUR, (int(work["year"]), NOW - 1),
               {})
    return doc


def render_river(w: World, river: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(river.name, river.id)
    doc.say(f"The {river.name} flows for about {int(river['length']):,} km through {w[river['country']].name}.",
            (river.id, "length"))
    cities = sorted((c for c in w.of("city") if c.get("river") == river.id), key=lambda c: int(c["founded"]))
    shown = cities[:rng.randint(1, 4)]
    if shown:
        doc.say(f"It passes {listing([c.name for c in shown])}.", *[(c.id, "river") for c in shown])
    doc.say(f"It rises in the {w.names.unclaimed(2)} Hills and empties into the {w.names.unclaimed(2)} Sea.")
    colour.pad(doc, RIVER_COLOUR, (1850, NOW - 1), {})
    return doc


def render_country(w: World, country: Entity, rng: random.Random, colour: Colour) -> Doc:
    doc = Doc(country.name, country.id)
    doc.say(f"{country.name} is a country whose capital is {w[country['capital']].name}.",
            (country.id, "capital"))
    doc.say(f"Its currency is the {country['currency']} and its official language is {country['language']}.")
    cities = sorted((c for c in w.of("city") if c["country"] == country.id and c.id != country["capital"]),
                    key=lambda c: -int(c["population"]))[:3]
    doc.say(f"Other large cities include {listing([c.name for c in cities])}.",
            *[(c.id, "country") for c in cities])
    rivers = [r.name for r in w.of("river") if r["country"] == country.id]
    if rivers:
        doc.say(f"Its principal rivers include {listing([f'the {r}' for r in rivers[:3]])}.")
    colour.pad(doc, COUNTRY_COLOUR, (1750, 1990), {"currency": str(country["currency"])})
    return doc


def render_documents(w: World, rng: random.Random) -> list[Doc]:
    """One article per entity, shuffled, with docids fw-00001... in the shuffled order."""
    colour = Colour(w, rng)
    roles = role_sentences(w)
    renderers: dict[str, Callable[[World, Entity, random.Random, Colour], Doc]] = {
        "company": render_company, "city": render_city, "university": render_university,
        "product": render_product, "event": render_event, "edition": render_edition, "club": render_club,
        "work": render_work, "river": render_river, "country": render_country}
    docs = []
    for entity in w.entities.values():
        if entity.kind == "person":
            docs.append(render_person(w, entity, rng, roles.get(entity.id, []), colour))
        else:
            docs.append(renderers[entity.kind](w, entity, rng, colour))
    rng.shuffle(docs)
    for number, doc in enumerate(docs, start=1):
        doc.docid = f"fw-{number:05d}"
    return docs



# ----------------------------------------------------------------------------------------------------
# Retrieval

QUERY_SYNTAX = re.compile(r'[+\-!(){}\[\]^"~*?:\\/]|\b(?:AND|OR|NOT)\b')


class BM25:
    """The search adapter's default retriever, rebuilt in memory: Tantivy BM25 over title and text with
    English stemming, the query stripped of query syntax and parsed leniently over both fields."""

    def __init__(self, docs: Iterable[tuple[str, str, str]]) -> None:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("docid", stored=True, tokenizer_name="raw")
        builder.add_text_field("title", tokenizer_name="en_stem")
        builder.add_text_field("text", tokenizer_name="en_stem")
        self.index = tantivy.Index(builder.build())
        writer = self.index.writer(heap_size=100_000_000, num_threads=1)
        for docid, title, text in docs:
            writer.add_document(tantivy.Document(docid=docid, title=title, text=text))
        writer.commit()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.cache: dict[tuple[str, int], list[str]] = {}

    def search(self, query: str, k: int = 5) -> list[str]:
        if (query, k) not in self.cache:
            parsed, _errors = self.index.parse_query_lenient(QUERY_SYNTAX.sub(" ", query).strip(), ["title",
                                                                                                    "text"])
            hits = self.searcher.search(parsed, k).hits
            self.cache[query, k] = [self.searcher.doc(address)["docid"][0] for _score, address in hits]
        return self.cache[query, k]


# ----------------------------------------------------------------------------------------------------
# Questions


@dataclass(frozen=True)
class Step:
    fact: Fact
    query: str  # what an agent who knows the names found so far would search for


@dataclass
class Candidate:
    question: str
    answer: str
    steps: list[Step]
    named: tuple[str, ...]  # entities the question names; each starts at most one question
    difference: tuple[Fact, Fact] | None = None  # the answer is value(first) - value(second)
    comparison: bool = False  # the answer is the larger or older of two named things


@dataclass
class Question:
    id: str
    question: str
    answer: str
    evidence: list[str]
    trajectory: list[dict[str, str]]
    template: str
    difference: tuple[Fact, Fact] | None
    comparison: bool
    facts: list[Fact]
    grounds: list[tuple[str, str]]  # (evidence docid, value it must contain), one per chain fact

    def record(self) -> dict[str, object]:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "evidence_docids": self.evidence, "hops": len(self.evidence),
                "gold_trajectory": self.trajectory}


def pick(w: World, rng: random.Random, kind: str, *having: str,
         where: Callable[[Entity], bool] = lambda e: True) -> Entity | None:
    options = [e for e in w.of(kind, having) if where(e)]
    return rng.choice(options) if options else None


def born(w: World, person: Value) -> Step:
    return Step((str(person), "born_in"), f"{w[person].name} born")


def birth_year(w: World, person: Value) -> Step:
    return Step((str(person), "born_year"), f"{w[person].name} born")


def creator_noun(work: Entity) -> str:
    return "author of the novel" if work["form"] == "novel" else "director of the film"


def clubs_by_city(w: World) -> dict[Value, Entity]:
    return {c["city"]: c for c in w.of("club")}


def q_founder_birthplace(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company")
    f = c["founder"]
    text = rng.choice(("In which city was the founder of {} born?", "Where was the founder of {} born?"))
    return Candidate(text.format(c.name), w.show((str(f), "born_in")),
                     [Step((c.id, "founder"), f"{c.name} founded"), born(w, f)], (c.id,))


def q_hq_river(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company", where=lambda c: "river" in w[c["hq"]].attrs)
    city = w[c["hq"]]
    return Candidate(f"Which river flows through the city where {c.name} has its headquarters?",
                     w.show((city.id, "river")),
                     [Step((c.id, "hq"), f"{c.name} headquarters"), Step((city.id, "river"),
                                                                         f"{city.name} river")],
                     (c.id,))


def q_employer_founded(w: World, rng: random.Random) -> Candidate | None:
    p = pick(w, rng, "person", "employer")
    c = w[p["employer"]]
    return Candidate(f"In what year was {p.name}'s employer founded?", w.show((c.id, "founded")),
                     [Step((p.id, "employer"), p.name), Step((c.id, "founded"), f"{c.name} founded")], (p.id,))


def q_birthplace_mayor(w: World, rng: random.Random) -> Candidate | None:
    p = pick(w, rng, "person")
    city = w[p["born_in"]]
    text = rng.choice(("Who is the mayor of the city where {} was born?",
                       "Who is the current mayor of {}'s birthplace?"))
    return Candidate(text.format(p.name), w.show((city.id, "mayor")),
                     [born(w, p.id), Step((city.id, "mayor"), f"{city.name} mayor")], (p.id,))


def q_maker_employees(w: World, rng: random.Random) -> Candidate | None:
    prod = pick(w, rng, "product")
    c = w[prod["maker"]]
    return Candidate(f"How many employees does the manufacturer of the {prod.name} have?",
                     w.show((c.id, "employees")),
                     [Step((prod.id, "maker"), f"{prod.name} made by"), Step((c.id, "employees"),
                                                                             f"{c.name} employees")],
                     (prod.id,))


def q_event_population(w: World, rng: random.Random) -> Candidate | None:
    e = pick(w, rng, "event")
    city = w[e["city"]]
    return Candidate(f"What is the population of the city that hosts the {e.name}?",
                     w.show((city.id, "population")),
                     [Step((e.id, "city"), f"{e.name} held"), Step((city.id, "population"),
                                                                   f"{city.name} population")],
                     (e.id,))


def q_founder_age(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company")
    f = w[c["founder"]]
    return Candidate(f"How many years after its founder was born was {c.name} founded?",
                     str(int(c["founded"]) - int(f["born_year"])),
                     [Step((c.id, "founder"), f"{c.name} founded"), Step((c.id, "founded"),
                                                                         f"{c.name} founded"),
                      birth_year(w, f.id)], (c.id,), difference=((c.id, "founded"), (f.id, "born_year")))


def q_event_city_age(w: World, rng: random.Random) -> Candidate | None:
    e = pick(w, rng, "event")
    city = w[e["city"]]
    return Candidate(f"How many years after the founding of its host city was the {e.name} first held?",
                     str(int(e["first_year"]) - int(city["founded"])),
                     [Step((e.id, "city"), f"{e.name} first held"), Step((e.id, "first_year"),
                                                                         f"{e.name} first held"),
                      Step((city.id, "founded"), f"{city.name} founded")], (e.id,),
                     difference=((e.id, "first_year"), (city.id, "founded")))


def q_winner_birthplace(w: World, rng: random.Random) -> Candidate | None:
    ed = pick(w, rng, "edition")
    return Candidate(f"In which city was the winner of the {ed.name} born?", w.show((str(ed["winner"]),
                                                                                     "born_in")),
                     [Step((ed.id, "winner"), f"{ed.name} won"), born(w, ed["winner"])], (ed.id,))


def q_publisher_hq(w: World, rng: random.Random) -> Candidate | None:
    work = pick(w, rng, "work")
    c = w[work["publisher"]]
    house = "publisher of the novel" if work["form"] == "novel" else "studio that produced the film"
    return Candidate(f"In which city is the {house} {work.name} headquartered?", w.show((c.id, "hq")),
                     [Step((work.id, "publisher"), f"{work.name} {work['form']}"),
                      Step((c.id, "hq"), f"{c.name} headquarters")], (work.id,))


def q_university_founded(w: World, rng: random.Random) -> Candidate | None:
    p = pick(w, rng, "person", "studied_at")
    u = w[p["studied_at"]]
    return Candidate(f"In what year was the university where {p.name} studied founded?", w.show((u.id,
                                                                                                 "founded")),
                     [Step((p.id, "studied_at"), f"{p.name} studied"), Step((u.id, "founded"),
                                                                            f"{u.name} founded")],
                     (p.id,))


def q_birthplace_club_stadium(w: World, rng: random.Random) -> Candidate | None:
    clubs = clubs_by_city(w)
    p = pick(w, rng, "person", where=lambda p: p["born_in"] in clubs)
    club, city = clubs[p["born_in"]], w[p["born_in"]]
    return Candidate(f"At which ground does the professional sports club of the city where {p.name} was born play "
                     f"its home matches?", str(club["stadium"]),
                     [born(w, p.id), Step((club.id, "city"), f"{city.name} professional club"),
                      Step((club.id, "stadium"), f"{club.name} home matches")], (p.id,))


def q_event_founder_attendance(w: World, rng: random.Random) -> Candidate | None:
    ed = pick(w, rng, "edition")
    e = w[ed["event"]]
    f = w[e["founder"]]
    return Candidate(f"What was the attendance at the {ed['year']} edition of the competition established by "
                     f"{f.name}?", w.show((ed.id, "attendance")),
                     [Step((e.id, "founder"), f"{f.name} established"),
                      Step((ed.id, "attendance"), f"{ed.name} attendance")], (f.id,))


def q_setting_mayor(w: World, rng: random.Random) -> Candidate | None:
    work = pick(w, rng, "work")
    city = w[work["setting"]]
    return Candidate(f"Who is the mayor of the city in which the {work['form']} {work.name} is set?",
                     w.show((city.id, "mayor")),
                     [Step((work.id, "setting"), f"{work.name} set in"), Step((city.id, "mayor"),
                                                                              f"{city.name} mayor")],
                     (work.id,))


def q_coach_birthplace(w: World, rng: random.Random) -> Candidate | None:
    club = pick(w, rng, "club")
    return Candidate(f"Where was the head coach of {club.name} born?", w.show((str(club["coach"]),
                                                                               "born_in")),
                     [Step((club.id, "coach"), f"{club.name} coach"), born(w, club["coach"])], (club.id,))


def q_rector_birth_year(w: World, rng: random.Random) -> Candidate | None:
    u = pick(w, rng, "university")
    return Candidate(f"In what year was the rector of {u.name} born?", w.show((str(u["rector"]),
                                                                               "born_year")),
                     [Step((u.id, "rector"), f"{u.name} rector"), birth_year(w, u["rector"])], (u.id,))


def q_founder_birthplace_river(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company", where=lambda c: "river" in w[w[c["founder"]]["born_in"]].attrs)
    f = w[c["founder"]]
    city = w[f["born_in"]]
    return Candidate(f"Which river flows through the birthplace of the founder of {c.name}?",
                     w.show((city.id, "river")),
                     [Step((c.id, "founder"), f"{c.name} founded"), born(w, f.id),
                      Step((city.id, "river"), f"{city.name} river")], (c.id,))


def q_maker_hq_population(w: World, rng: random.Random) -> Candidate | None:
    prod = pick(w, rng, "product")
    c = w[prod["maker"]]
    city = w[c["hq"]]
    return Candidate(f"What is the population of the city where the maker of the {prod.name} is headquartered?",
                     w.show((city.id, "population")),
                     [Step((prod.id, "maker"), f"{prod.name} made by"), Step((c.id, "hq"),
                                                                             f"{c.name} headquarters"),
                      Step((city.id, "population"), f"{city.name} population")], (prod.id,))


def q_creator_university_founded(w: World, rng: random.Random) -> Candidate | None:
    work = pick(w, rng, "work", where=lambda x: "studied_at" in w[x["creator"]].attrs)
    a = w[work["creator"]]
    u = w[a["studied_at"]]
    return Candidate(f"In what year was the university attended by the {creator_noun(work)} {work.name} founded?",
                     w.show((u.id, "founded")),
                     [Step((work.id, "creator"), work.name), Step((a.id, "studied_at"), f"{a.name} studied"),
                      Step((u.id, "founded"), f"{u.name} founded")], (work.id,))


def q_winner_birthplace_mayor(w: World, rng: random.Random) -> Candidate | None:
    ed = pick(w, rng, "edition")
    city = w[w[ed["winner"]]["born_in"]]
    return Candidate(f"Who is the mayor of the city where the winner of the {ed.name} was born?",
                     w.show((city.id, "mayor")),
                     [Step((ed.id, "winner"), f"{ed.name} won"), born(w, ed["winner"]),
                      Step((city.id, "mayor"), f"{city.name} mayor")], (ed.id,))


def q_employer_after_birthplace(w: World, rng: random.Random) -> Candidate | None:
    p = pick(w, rng, "person", "employer",
             where=lambda p: int(w[p["employer"]]["founded"]) > int(w[p["born_in"]]["founded"]))
    c, city = w[p["employer"]], w[p["born_in"]]
    return Candidate(f"How many years after the founding of {p.name}'s birthplace was {p.name}'s employer "
                     f"founded?", str(int(c["founded"]) - int(city["founded"])),
                     [born(w, p.id), Step((p.id, "employer"), p.name), Step((city.id, "founded"),
                                                                            f"{city.name} founded"),
                      Step((c.id, "founded"), f"{c.name} founded")], (p.id,),
                     difference=((c.id, "founded"), (city.id, "founded")))


def q_founder_or_ceo_older(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company", where=lambda c: w[c["founder"]]["born_year"] != w[c["ceo"]]["born_year"])
    f, ceo = w[c["founder"]], w[c["ceo"]]
    older = min((f, ceo), key=lambda p: int(p["born_year"]))
    return Candidate(f"Who was born earlier: the founder of {c.name} or its current chief executive?",
                     older.name,
                     [Step((c.id, "founder"), f"{c.name} founded"), Step((c.id, "ceo"),
                                                                         f"{c.name} chief executive"),
                      birth_year(w, f.id), birth_year(w, ceo.id)], (c.id,), comparison=True)


def q_employer_or_university_older(w: World, rng: random.Random) -> Candidate | None:
    p = pick(w, rng, "person", "employer", "studied_at",
             where=lambda p: w[p["employer"]]["founded"] != w[p["studied_at"]]["founded"])
    c, u = w[p["employer"]], w[p["studied_at"]]
    older = min((c, u), key=lambda e: int(e["founded"]))
    return Candidate(f"Which was founded earlier: the company {p.name} worked for or the university "
                     f"{PRONOUNS[str(p['gender'])][0]} attended?", older.name,
                     [Step((p.id, "employer"), p.name), Step((p.id, "studied_at"), f"{p.name} studied"),
                      Step((c.id, "founded"), f"{c.name} founded"), Step((u.id, "founded"),
                                                                         f"{u.name} founded")],
                     (p.id,), comparison=True)


def q_designer_birthplace_population(w: World, rng: random.Random) -> Candidate | None:
    prod = pick(w, rng, "product")
    d = w[prod["designer"]]
    city = w[d["born_in"]]
    return Candidate(f"How many inhabitants does the birthplace of the designer of the {prod.name} have?",
                     w.show((city.id, "population")),
                     [Step((prod.id, "designer"), f"{prod.name} designed"), born(w, d.id),
                      Step((city.id, "population"), f"{city.name} population")], (prod.id,))


def q_creator_birthplace_club_founded(w: World, rng: random.Random) -> Candidate | None:
    clubs = clubs_by_city(w)
    work = pick(w, rng, "work", where=lambda x: w[x["creator"]]["born_in"] in clubs)
    a = w[work["creator"]]
    club, city = clubs[a["born_in"]], w[a["born_in"]]
    return Candidate(f"In what year was the professional sports club of the city where the {creator_noun(work)} "
                     f"{work.name} was born founded?", w.show((club.id, "founded")),
                     [Step((work.id, "creator"), work.name), born(w, a.id),
                      Step((club.id, "city"), f"{city.name} professional club"),
                      Step((club.id, "founded"), f"{club.name} founded")], (work.id,))


def q_ceo_birthplace_mayor(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company")
    ceo = w[c["ceo"]]
    city = w[ceo["born_in"]]
    return Candidate(f"Who is the mayor of the city where the chief executive of {c.name} was born?",
                     w.show((city.id, "mayor")),
                     [Step((c.id, "ceo"), f"{c.name} chief executive"), born(w, ceo.id),
                      Step((city.id, "mayor"), f"{city.name} mayor")], (c.id,))


def q_spouse_employer_hq(w: World, rng: random.Random) -> Candidate | None:
    p = pick(w, rng, "person", "spouse", where=lambda p: "employer" in w[p["spouse"]].attrs)
    s = w[p["spouse"]]
    c = w[s["employer"]]
    return Candidate(f"In which city is the employer of {p.name}'s spouse headquartered?", w.show((c.id,
                                                                                                   "hq")),
                     [Step((p.id, "spouse"), f"{p.name} married"), Step((s.id, "employer"), s.name),
                      Step((c.id, "hq"), f"{c.name} headquarters")], (p.id,))


def q_event_founder_birthplace_population(w: World, rng: random.Random) -> Candidate | None:
    e = pick(w, rng, "event")
    f = w[e["founder"]]
    city = w[f["born_in"]]
    return Candidate(f"What is the population of the birthplace of the person who established the {e.name}?",
                     w.show((city.id, "population")),
                     [Step((e.id, "founder"), f"{e.name} established"), born(w, f.id),
                      Step((city.id, "population"), f"{city.name} population")], (e.id,))


def q_compare_birthplace_population(w: World, rng: random.Random) -> Candidate | None:
    p1 = pick(w, rng, "person")
    p2 = pick(w, rng, "person", where=lambda p: w[p["born_in"]]["population"] != w[p1["born_in"]]["population"])
    c1, c2 = w[p1["born_in"]], w[p2["born_in"]]
    larger = max((c1, c2), key=lambda c: int(c["population"]))
    return Candidate(f"Which city has more inhabitants: the birthplace of {p1.name} or the birthplace of "
                     f"{p2.name}?", larger.name,
                     [born(w, p1.id), Step((c1.id, "population"), f"{c1.name} population"),
                      born(w, p2.id), Step((c2.id, "population"), f"{c2.name} population")],
                     (p1.id, p2.id), comparison=True)


def q_compare_founder_age(w: World, rng: random.Random) -> Candidate | None:
    c1 = pick(w, rng, "company")
    c2 = pick(w, rng, "company", where=lambda c: w[c["founder"]]["born_year"] != w[c1["founder"]]["born_year"])
    f1, f2 = w[c1["founder"]], w[c2["founder"]]
    older = min((f1, f2), key=lambda p: int(p["born_year"]))
    return Candidate(f"Who was born first: the founder of {c1.name} or the founder of {c2.name}?", older.name,
                     [Step((c1.id, "founder"), f"{c1.name} founded"), birth_year(w, f1.id),
                      Step((c2.id, "founder"), f"{c2.name} founded"), birth_year(w, f2.id)],
                     (c1.id, c2.id), comparison=True)


def q_founder_age_gap(w: World, rng: random.Random) -> Candidate | None:
    c1 = pick(w, rng, "company")
    c2 = pick(w, rng, "company", where=lambda c: w[c["founder"]]["born_year"] > w[c1["founder"]]["born_year"])
    if c2 is None:
        return None
    f1, f2 = w[c1["founder"]], w[c2["founder"]]
    return Candidate(f"How many years earlier was the founder of {c1.name} born than the founder of {c2.name}?",
                     str(int(f2["born_year"]) - int(f1["born_year"])),
                     [Step((c1.id, "founder"), f"{c1.name} founded"), birth_year(w, f1.id),
                      Step((c2.id, "founder"), f"{c2.name} founded"), birth_year(w, f2.id)], (c1.id, c2.id),
                     difference=((f2.id, "born_year"), (f1.id, "born_year")))


def q_compare_maker_age(w: World, rng: random.Random) -> Candidate | None:
    p1 = pick(w, rng, "product")
    p2 = pick(w, rng, "product", where=lambda p: w[p["maker"]]["founded"] != w[p1["maker"]]["founded"])
    m1, m2 = w[p1["maker"]], w[p2["maker"]]
    older = min((m1, m2), key=lambda c: int(c["founded"]))
    return Candidate(f"Which company was founded earlier: the maker of the {p1.name} or the maker of the "
                     f"{p2.name}?", older.name,
                     [Step((p1.id, "maker"), f"{p1.name} made by"), Step((m1.id, "founded"),
                                                                         f"{m1.name} founded"),
                      Step((p2.id, "maker"), f"{p2.name} made by"), Step((m2.id, "founded"),
                                                                         f"{m2.name} founded")],
                     (p1.id, p2.id), comparison=True)


def q_maker_ceo_birthplace_river(w: World, rng: random.Random) -> Candidate | None:
    prod = pick(w, rng, "product", where=lambda p: "river" in w[w[w[p["maker"]]["ceo"]]["born_in"]].attrs)
    c = w[prod["maker"]]
    ceo = w[c["ceo"]]
    city = w[ceo["born_in"]]
    return Candidate(f"Which river flows through the birthplace of the chief executive of the company that makes "
                     f"the {prod.name}?", w.show((city.id, "river")),
                     [Step((prod.id, "maker"), f"{prod.name} made by"), Step((c.id, "ceo"),
                                                                             f"{c.name} chief executive"),
                      born(w, ceo.id), Step((city.id, "river"), f"{city.name} river")], (prod.id,))


def q_creator_university_city_mayor(w: World, rng: random.Random) -> Candidate | None:
    work = pick(w, rng, "work", where=lambda x: "studied_at" in w[x["creator"]].attrs)
    a = w[work["creator"]]
    u = w[a["studied_at"]]
    city = w[u["city"]]
    return Candidate(f"Who is the mayor of the city where the {creator_noun(work)} {work.name} went to university?",
                     w.show((city.id, "mayor")),
                     [Step((work.id, "creator"), work.name), Step((a.id, "studied_at"), f"{a.name} studied"),
                      Step((u.id, "city"), f"{u.name} university located"),
                      Step((city.id, "mayor"), f"{city.name} mayor")], (work.id,))


def q_compare_university_age(w: World, rng: random.Random) -> Candidate | None:
    p1 = pick(w, rng, "person", "studied_at")
    p2 = pick(w, rng, "person", "studied_at",
              where=lambda p: w[p["studied_at"]]["founded"] != w[p1["studied_at"]]["founded"])
    u1, u2 = w[p1["studied_at"]], w[p2["studied_at"]]
    older = min((u1, u2), key=lambda u: int(u["founded"]))
    return Candidate(f"Which is older: the university attended by {p1.name} or the one attended by {p2.name}?",
                     older.name,
                     [Step((p1.id, "studied_at"), f"{p1.name} studied"), Step((u1.id, "founded"),
                                                                              f"{u1.name} founded"),
                      Step((p2.id, "studied_at"), f"{p2.name} studied"), Step((u2.id, "founded"),
                                                                              f"{u2.name} founded")],
                     (p1.id, p2.id), comparison=True)


def q_compare_club_titles(w: World, rng: random.Random) -> Candidate | None:
    clubs = clubs_by_city(w)
    p1 = pick(w, rng, "person", where=lambda p: p["born_in"] in clubs)
    p2 = pick(w, rng, "person", where=lambda p: p["born_in"] in clubs
              and clubs[p["born_in"]]["titles"] != clubs[p1["born_in"]]["titles"])
    k1, k2 = clubs[p1["born_in"]], clubs[p2["born_in"]]
    winner = max((k1, k2), key=lambda k: int(k["titles"]))
    return Candidate(f"Which has won more national championships: the professional sports club of the city where "
                     f"{p1.name} was born or that of the city where {p2.name} was born?", winner.name,
                     [born(w, p1.id), Step((k1.id, "city"), f"{w[k1['city']].name} professional club"),
                      Step((k1.id, "titles"), f"{k1.name} national championships"),
                      born(w, p2.id), Step((k2.id, "city"), f"{w[k2['city']].name} professional club"),
                      Step((k2.id, "titles"), f"{k2.name} national championships")],
                     (p1.id, p2.id), comparison=True)


def q_hq_or_founder_birthplace_larger(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company",
             where=lambda c: w[c["hq"]]["population"] != w[w[c["founder"]]["born_in"]]["population"])
    f = w[c["founder"]]
    hq, home = w[c["hq"]], w[f["born_in"]]
    larger = max((hq, home), key=lambda x: int(x["population"]))
    return Candidate(f"Which city has the larger population: the one where {c.name} has its headquarters or the "
                     f"one where its founder was born?", larger.name,
                     [Step((c.id, "hq"), f"{c.name} headquarters"), Step((hq.id, "population"),
                                                                         f"{hq.name} population"),
                      Step((c.id, "founder"), f"{c.name} founded"), born(w, f.id),
                      Step((home.id, "population"), f"{home.name} population")], (c.id,), comparison=True)


def q_setting_or_creator_birthplace_larger(w: World, rng: random.Random) -> Candidate | None:
    work = pick(w, rng, "work", where=lambda x: w[x["setting"]]["population"] !=
                w[w[x["creator"]]["born_in"]]["population"])
    a = w[work["creator"]]
    setting, home = w[work["setting"]], w[a["born_in"]]
    larger = max((setting, home), key=lambda x: int(x["population"]))
    role = "author" if work["form"] == "novel" else "director"
    return Candidate(f"Which city is more populous: the one in which the {work['form']} {work.name} is set or the "
                     f"birthplace of its {role}?", larger.name,
                     [Step((work.id, "setting"), f"{work.name} set in"),
                      Step((setting.id, "population"), f"{setting.name} population"),
                      Step((work.id, "creator"), work.name), born(w, a.id),
                      Step((home.id, "population"), f"{home.name} population")], (work.id,), comparison=True)

def q_creator_university_city_river(w: World, rng: random.Random) -> Candidate | None:
    work = pick(w, rng, "work", where=lambda x: "studied_at" in w[x["creator"]].attrs
                and "river" in w[w[w[x["creator"]]["studied_at"]]["city"]].attrs)
    a = w[work["creator"]]
    u = w[a["studied_at"]]
    city = w[u["city"]]
    return Candidate(f"Which river flows through the city where the {creator_noun(work)} {work.name} went to "
                     f"university?", w.show((city.id, "river")),
                     [Step((work.id, "creator"), work.name), Step((a.id, "studied_at"), f"{a.name} studied"),
                      Step((u.id, "city"), f"{u.name} university located"),
                      Step((city.id, "river"), f"{city.name} river")], (work.id,))


def q_founder_university_city_population(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company", where=lambda c: "studied_at" in w[c["founder"]].attrs)
    f = w[c["founder"]]
    u = w[f["studied_at"]]
    city = w[u["city"]]
    return Candidate(f"What is the population of the city where the founder of {c.name} went to university?",
                     w.show((city.id, "population")),
                     [Step((c.id, "founder"), f"{c.name} founded"), Step((f.id, "studied_at"),
                                                                         f"{f.name} studied"),
                      Step((u.id, "city"), f"{u.name} university located"),
                      Step((city.id, "population"), f"{city.name} population")], (c.id,))


def q_ceo_university_students(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company", where=lambda c: "studied_at" in w[c["ceo"]].attrs)
    ceo = w[c["ceo"]]
    u = w[ceo["studied_at"]]
    return Candidate(f"How many students does the university attended by the chief executive of {c.name} have?",
                     w.show((u.id, "students")),
                     [Step((c.id, "ceo"), f"{c.name} chief executive"), Step((ceo.id, "studied_at"),
                                                                             f"{ceo.name} studied"),
                      Step((u.id, "students"), f"{u.name} students")], (c.id,))


def q_winner_birthplace_club_titles(w: World, rng: random.Random) -> Candidate | None:
    clubs = clubs_by_city(w)
    ed = pick(w, rng, "edition", where=lambda e: w[e["winner"]]["born_in"] in clubs)
    winner = w[ed["winner"]]
    club, city = clubs[winner["born_in"]], w[winner["born_in"]]
    return Candidate(f"How many national championships has the professional sports club of the birthplace of the "
                     f"winner of the {ed.name} won?", w.show((club.id, "titles")),
                     [Step((ed.id, "winner"), f"{ed.name} won"), born(w, winner.id),
                      Step((club.id, "city"), f"{city.name} professional club"),
                      Step((club.id, "titles"), f"{club.name} national championships")], (ed.id,))


def q_company_after_founder_birthplace(w: World, rng: random.Random) -> Candidate | None:
    c = pick(w, rng, "company")
    f = w[c["founder"]]
    city = w[f["born_in"]]
    return Candidate(f"How many years after the founding of its founder's birthplace was {c.name} founded?",
                     str(int(c["founded"]) - int(city["founded"])),
                     [Step((c.id, "founder"), f"{c.name} founded"), Step((c.id, "founded"),
                                                                         f"{c.name} founded"),
                      born(w, f.id), Step((city.id, "founded"), f"{city.name} founded")], (c.id,),
                     difference=((c.id, "founded"), (city.id, "founded")))



TEMPLATES: tuple[Callable[[World, random.Random], Candidate | None], ...] = (
    q_founder_birthplace, q_hq_river, q_employer_founded, q_birthplace_mayor, q_maker_employees,
    q_event_population, q_founder_age, q_event_city_age, q_winner_birthplace, q_publisher_hq,
    q_university_founded, q_birthplace_club_stadium, q_event_founder_attendance, q_setting_mayor,
    q_coach_birthplace, q_rector_birth_year, q_founder_birthplace_river, q_maker_hq_population,
    q_creator_university_founded, q_winner_birthplace_mayor, q_employer_after_birthplace, q_founder_or_ceo_older,
    q_employer_or_university_older, q_designer_birthplace_population, q_creator_birthplace_club_founded,
    q_ceo_birthplace_mayor, q_spouse_employer_hq, q_event_founder_birthplace_population,
    q_compare_birthplace_population, q_compare_founder_age, q_founder_age_gap, q_compare_maker_age,
    q_maker_ceo_birthplace_river, q_creator_university_city_mayor, q_compare_university_age,
    q_compare_club_titles, q_hq_or_founder_birthplace_larger, q_setting_or_creator_birthplace_larger,
    q_creator_university_city_river, q_founder_university_city_population, q_ceo_university_students,
    q_winner_birthplace_club_titles, q_company_after_founder_birthplace,
)


def mentions(text: str, phrase: str) -> bool:
    """``phrase`` occurs in ``text`` as whole words (case-insensitive)."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(phrase)}(?![A-Za-z0-9])", text, re.IGNORECASE) is not None


def fact_index(docs: list[Doc]) -> dict[Fact, list[str]]:
    stated: dict[Fact, list[str]] = {}
    for doc in docs:
        for fact in dict.fromkeys(doc.facts):
            stated.setdefault(fact, []).append(doc.docid)
    return stated


def minimum_covers(facts: list[Fact], stated: dict[Fact, list[str]]) -> list[tuple[str, ...]]:
    """Every smallest set of documents that together state all of ``facts``."""
    needs = [set(stated[f]) for f in facts]
    pool = sorted(set().union(*needs))
    for size in range(1, len(facts) + 1):
        covers = [c for c in itertools.combinations(pool,
                                                    size) if all(not need.isdisjoint(c) for need in needs)]
        if covers:
            return covers
    raise AssertionError("unreachable: the pool itself is a cover")


def gold_trajectory(steps: list[Step], cover: tuple[str, ...], stated: dict[Fact, list[str]],
                    bm25: BM25) -> list[dict[str, str]] | None:
    """Search and fetch, in chain order, the cover document stating each fact not yet fetched; None if a
    search does not bring that document into its top 5."""
    fetched: list[str] = []
    calls: list[dict[str, str]] = []
    for step in steps:
        holders = [d for d in cover if d in stated[step.fact]]
        if any(d in fetched for d in holders):
            continue
        hits = bm25.search(step.query)
        found = [d for d in holders if d in hits]
        if not found:
            return None
        calls += [{"tool": "search", "query": step.query}, {"tool": "get_document", "docid": found[0]}]
        fetched.append(found[0])
    return calls


def assess(name: str, cand: Candidate, w: World, stated: dict[Fact, list[str]], texts: dict[str, str],
           bm25: BM25) -> Question | None:
    """The question a candidate makes, or None if it fails any rule the verification checks."""
    if mentions(cand.question, cand.answer):
        return None
    facts = [s.fact for s in cand.steps]
    covers = minimum_covers(facts, stated)
    if len(covers) != 1 or not 2 <= len(covers[0]) <= 4:
        return None
    trajectory = gold_trajectory(cand.steps, covers[0], stated, bm25)
    if trajectory is None:
        return None
    evidence = [call["docid"] for call in trajectory if call["tool"] == "get_document"]
    grounds = [(next(d for d in evidence if d in stated[f]), w.show(f)) for f in facts]
    if not all(mentions(texts[d], value) for d, value in grounds):
        return None
    if cand.difference is None and not any(mentions(texts[d], cand.answer) for d in evidence):
        return None
    return Question("", cand.question, cand.answer, evidence, trajectory, name, cand.difference,
                    cand.comparison, facts, grounds)


def make_questions(w: World, rng: random.Random, docs: list[Doc], bm25: BM25) -> list[Question]:
    """Rounds over the templates in random order, each adding at most one question per round (at most
    PER_TEMPLATE in all), until every hop count has its quota."""
    stated = fact_index(docs)
    texts = {d.docid: d.text for d in docs}
    quotas = dict(HOP_QUOTAS)
    named: set[str] = set()
    questions: list[Question] = []
    for _ in range(PER_TEMPLATE):
        for template in rng.sample(TEMPLATES, len(TEMPLATES)):
            for _ in range(TRIES):
                cand = template(w, rng)
                if cand is None or named.intersection(cand.named):
                    continue
                question = assess(template.__name__, cand, w, stated, texts, bm25)
                if question is not None and quotas.get(len(question.evidence), 0) > 0:
                    quotas[len(question.evidence)] -= 1
                    named.update(cand.named)
                    question.id = f"fwq-{len(questions) + 1:03d}"
                    questions.append(question)
                    break
    if any(quotas.values()):
        raise SystemExit(f"could not fill the hop quotas; still missing {quotas}")
    return questions



# ----------------------------------------------------------------------------------------------------
# Output, verification and summary


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_trajectory(record: dict, texts: dict[str, str], bm25: BM25) -> list[str]:
    """Problems with a record's gold trajectory, replayed against BM25."""
    problems = []
    evidence = set(record["evidence_docids"])
    seen: set[str] = set()
    fetched: list[str] = []
    hits: list[str] = []
    for call in record["gold_trajectory"]:
        if call["tool"] == "search":
            hits = bm25.search(call["query"])
            seen.update(hits)
            if evidence.isdisjoint(hits):
                problems.append(f"search {call['query']!r} retrieves no evidence in its top 5")
        elif call["tool"] == "get_document":
            if call["docid"] not in texts or call["docid"] not in hits:
                problems.append(f"get_document {call['docid']} is not in the previous search's top 5")
            fetched.append(call["docid"])
        else:
            problems.append(f"unknown tool {call['tool']!r}")
    if not evidence <= seen | set(fetched) or set(fetched) != evidence:
        problems.append("the trajectory does not retrieve and fetch exactly the evidence")
    return problems


def check_question(record: dict, q: Question, texts: dict[str, str], stated: dict[Fact, list[str]],
                   w: World) -> list[str]:
    """Problems with one question record, using the chain facts the generator kept for it."""
    problems = []
    evidence = record["evidence_docids"]
    if not all(d in texts for d in evidence):
        return [f"unknown evidence docid in {evidence}"]
    if record["hops"] not in (2, 3, 4) or record["hops"] != len(evidence) or len(set(evidence)) != len(evidence):
        problems.append(f"hops {record['hops']} does not match {len(evidence)} distinct evidence documents")
    if minimum_covers(q.facts, stated) != [tuple(sorted(evidence))]:
        problems.append("the evidence is not the unique smallest set of documents stating the chain")
    for docid, value in q.grounds:
        if docid not in evidence or not mentions(texts[docid], value):
            problems.append(f"{docid} does not contain the chain value {value!r}")
    answer = record["answer"]
    if q.difference is not None:
        first, second = (int(w.show(f)) for f in q.difference)
        if str(first - second) != answer:
            problems.append(f"answer {answer} is not {first} - {second}")
    elif not any(mentions(texts[d], answer) for d in evidence):
        problems.append(f"answer {answer!r} appears in no evidence document")
    if mentions(record["question"], answer):
        problems.append(f"answer {answer!r} appears in the question")
    return problems


def verify(w: World, docs: list[Doc], questions: list[Question]) -> tuple[dict, list[str]]:
    """Read the written files back, check them, and return (summary numbers, failures)."""
    stated = fact_index(docs)
    corpus = read_jsonl(OUT / "corpus.jsonl")
    records = read_jsonl(OUT / "questions.jsonl")
    failures: list[str] = []
    texts: dict[str, str] = {}
    for doc in corpus:
        if doc["docid"] in texts:
            failures.append(f"duplicate docid {doc['docid']}")
        texts[doc["docid"]] = doc["text"]
    lengths = sorted(words(doc["text"]) for doc in corpus)
    if not DOC_RANGE[0] <= len(corpus) <= DOC_RANGE[1]:
        failures.append(f"{len(corpus)} documents, outside {DOC_RANGE}")
    if not WORD_RANGE[0] <= lengths[0] <= lengths[-1] <= WORD_RANGE[1]:
        failures.append(f"document lengths {lengths[0]}-{lengths[-1]} words, outside {WORD_RANGE}")
    if not 60 <= len(records) <= 80:
        failures.append(f"{len(records)} questions, outside 60-80")
    bm25 = BM25((doc["docid"], doc["title"], doc["text"]) for doc in corpus)
    by_id = {q.id: q for q in questions}
    recalls: dict[int, list[float]] = {}
    complete = searches = first = 0
    for record in records:
        problems = check_question(record, by_id[record["id"]], texts, stated, w)
        problems += check_trajectory(record, texts, bm25)
        failures += [f"{record['id']}: {p}" for p in problems]
        evidence = set(record["evidence_docids"])
        found = evidence.intersection(bm25.search(record["question"]))
        recalls.setdefault(record["hops"], []).append(len(found) / len(evidence))
        complete += found == evidence
        for call, following in zip(record["gold_trajectory"], record["gold_trajectory"][1:]):
            if call["tool"] == "search":
                searches += 1
                first += bm25.search(call["query"], 1) == [following["docid"]]
    every = [r for values in recalls.values() for r in values]
    summary = {
        "documents": len(corpus), "words": sum(lengths), "min_words": lengths[0],
        "median_words": lengths[len(lengths) // 2], "max_words": lengths[-1],
        "documents_by_kind": dict(sorted(Counter(w[d.home].kind for d in docs).items())),
        "questions": len(records), "by_hops": {h: len(v) for h, v in sorted(recalls.items())},
        "templates": f"{len({q.template for q in questions})} of {len(TEMPLATES)}",
        "comparisons": sum(q.comparison for q in questions),
        "differences": sum(q.difference is not None for q in questions),
        "gold_searches": searches, "gold_rank1": first,
        "question_recall5": sum(every) / len(every),
        "question_recall5_by_hops": {h: sum(v) / len(v) for h, v in sorted(recalls.items())},
        "question_all_evidence5": complete / len(records),
        "question_any_evidence5": sum(r > 0 for r in every) / len(every),
    }
    return summary, failures


README = """# Built-in search benchmark (fictional world)

An original multi-hop question-answering benchmark over a fixed corpus, for the `search` task: a model
answers by calling `search(query)` and `get_document(docid)`; a closed-book run (no tools) measures
memorisation. Everything is invented: {documents:,} encyclopedic articles about the people, companies,
cities, rivers, countries, universities, products, annual competitions (and single editions of them),
sports clubs, novels and films of a made-up world whose names are built from syllables. No fact here can
have been learned in pre-training, and no answer is named in its question (not even for comparisons), so
closed-book accuracy should be near zero; anything clearly above that points to a leak.

`corpus.jsonl`, `questions.jsonl` and this README are generated by `scripts/make_search_corpus.py` (fixed
seed `{seed}`); edit the script, not these files. (`prompt.jinja` belongs to the search adapter.)

## Files

`corpus.jsonl`, one document per line:

| field | meaning |
|---|---|
| `docid` | `fw-00001` ... `fw-{last:05d}` (stable: same seed, same ids) |
| `title` | the entity's name: a person, a company, a city, ..., or an edition, `<year> <competition>` |
| `text` | {min_words}-{max_words} words (median {median_words}) of encyclopedic prose |

Documents by kind: {kinds}. Total {words:,} words.

`questions.jsonl`, one question per line:

| field | meaning |
|---|---|
| `id` | `fwq-001` ... |
| `question` | a multi-hop question in English |
| `answer` | short: a name, a year, a number as written in the corpus (`48,210`), or a computed difference of years |
| `evidence_docids` | the documents needed, in the order the gold trajectory fetches them |
| `hops` | the number of evidence documents (2, 3 or 4) |
| `gold_trajectory` | tool calls a competent agent would make: `{{"tool": "search", "query": ...}}` followed by `{{"tool": "get_document", "docid": ...}}`, once per evidence document |

{questions} questions from {templates} templates: {hops_text}. {comparisons} are comparisons (which of two is older, larger or has
won more; the answer is one of the two, never named in the question) and {differences} ask for a difference of two years.

## How the world and the questions are made

Facts are spread over documents: a person's article names their birthplace, university, employer and
spouse; a company's names its headquarters, founder, chief executive and workforce; a city's its country,
river, founding year, population and mayor; a competition's its host city, first year and founder; each
edition's its winner, runner-up and attendance; and so on. Some facts are stated on both sides (both
spouses' articles, products a company lists, a role mentioned in the holder's own article), as in a real
encyclopedia. Distractors: companies sharing a stem (`X Instruments` / `X Industries`), cities differing by
a vowel or a prefix (`Upper X`), people with the same first name and a near-identical surname, products of
one line, competitions sharing a stem, runners-up, and sentences naming other cities and people (where
someone died or lived, where a film was shot).

The generator records which documents state which facts. A question follows a chain of facts (e.g.
product -> maker -> headquarters -> population); it is kept only if exactly one smallest set of documents
states the whole chain, and that set is its evidence, so `hops` counts documents that are really needed
rather than the links in the wording.

## Checks (the script exits non-zero if any fails)

- docids are unique; {doc_range} documents of {word_range} words; 60-80 questions;
- every evidence docid exists, and the evidence is the unique minimum set of documents stating the chain;
- every value on the chain appears (as whole words) in the evidence document that states it; the answer
  appears in an evidence document, except for differences, whose two years do and whose answer is recomputed;
- no answer appears in its question;
- every gold search, run through BM25 as the adapter's default retriever does it (Tantivy, English
  stemming, title and text), has the document fetched next in its top 5; the searches' results together
  with the fetched documents cover the evidence, and the fetched documents are exactly the evidence;
- this directory stays under 4 MB (the corpus and questions take {size:,} bytes).

Numbers from the last generation: {searches} gold searches, {rank1} of which rank the document fetched
next first. BM25 recall@5 with the question text itself as the query (reported, not checked): {recall:.3f}
of the evidence documents on average ({recall_by_hops}); all of a question's evidence in the top 5 for
{all5:.1%} of questions, at least one document for {any5:.1%}. One search is not enough: the agent has to
read what it finds and search again with the names it learns.

## Regenerating

    python3 scripts/make_search_corpus.py

It needs Python 3.11+ and `tantivy` (for the retrieval check). Rerunning gives identical bytes.
"""


def readme(summary: dict, size: int) -> str:
    hops = summary["by_hops"]
    return README.format(
        seed=SEED, last=summary["documents"], size=size, searches=summary["gold_searches"],
        rank1=summary["gold_rank1"], recall=summary["question_recall5"], all5=summary["question_all_evidence5"],
        any5=summary["question_any_evidence5"], doc_range="{:,}-{:,}".format(*DOC_RANGE),
        word_range="{}-{}".format(*WORD_RANGE),
        kinds=", ".join(f"{k} {n:,}" for k, n in summary["documents_by_kind"].items()),
        hops_text=", ".join(f"{n} with {h} hops" for h, n in hops.items()),
        recall_by_hops=", ".join(f"{h} hops {r:.3f}" for h, r in summary["question_recall5_by_hops"].items()),
        **{k: summary[k] for k in ("documents", "min_words", "max_words", "median_words", "words", "questions",
                                   "templates", "comparisons", "differences")})


def main() -> int:
    rng = random.Random(SEED)
    world = build_world(rng)
    docs = render_documents(world, rng)
    bm25 = BM25((d.docid, d.title, d.text) for d in docs)
    questions = make_questions(world, rng, docs, bm25)
    OUT.mkdir(parents=True, exist_ok=True)
    write_jsonl(OUT / "corpus.jsonl", ({"docid": d.docid, "title": d.title, "text": d.text} for d in docs))
    write_jsonl(OUT / "questions.jsonl", (q.record() for q in questions))
    summary, failures = verify(world, docs, questions)
    data_size = sum((OUT / name).stat().st_size for name in ("corpus.jsonl", "questions.jsonl"))
    (OUT / "README.md").write_text(readme(summary, data_size), encoding="utf-8")
    total = sum(path.stat().st_size for path in OUT.iterdir())
    if total >= MAX_BYTES:
        failures.append(f"{OUT} holds {total:,} bytes, not under {MAX_BYTES:,}")
    print(json.dumps({**summary, "bytes": total}, indent=1))
    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
