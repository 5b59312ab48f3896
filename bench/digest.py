"""Digest stage speed: build and render one ISO week's digest for 50 recipients.

    python bench/digest.py                              # 10,000 items, 50 recipients
    python bench/digest.py --items 2000 --recipients 10 # quick look

Target: build_digest + render_digest for 50 recipients from a week of 10,000 items within 2 s
on this machine (the digest stage directly, as scanner.digesting.content_for / render_for call
it: group_week once for the digest week, then build_digest(..., grouped=) and render_digest per
recipient; gathering the items from the archive is not timed).

The week (2026-W47) is generated with a fixed seed: 40 sources (weights 0.5–2), 10,000
ArchivedItem with Swedish-looking titles and summaries, 90 % relevant with 1–3 tags of the
shipped taxonomy.yaml (scores and reasons like the tagger's), about 10 % of the items in
multi-source stories (2–4 sources, one archive story id, the reprints' titles lightly reworded),
8 weeks of history counts and a few failing sources. Recipients: 30 read everything, 15 follow
1–4 topics, 5 only priority-1 topics.

Peer, in the same process: a naive digest — every relevant item of the week on its own (no
story grouping, no title comparison), sorted by tag score × source weight, the same top and
section counts — rendered by the same render_digest (same Jinja2 templates, CSS inlining and
size check), so the difference is the cost of stories and ranking.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scanner.classify import load_taxonomy
from scanner.digest.calendar import week_bounds
from scanner.digest.content import DigestContent, DigestEntry, Section
from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.digest.render import render_digest
from scanner.digest.select import build_digest, digest_window, label, section_order
from scanner.digest.stories import group_stories, group_week
from scanner.digest.text import summarise
from scanner.models import ArchivedItem, ItemTag, Source, SourceHealth, Taxonomy

TAXONOMY_PATH = Path(__file__).resolve().parent.parent / "scanner" / "classify" / "data" / \
    "taxonomy.yaml"
WEEK = "2026-W47"
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)  # Monday 07:00 in Stockholm
SECRET = "bench-hemlighet-som-bara-finns-har"
PUBLIC_URL = "https://omvarld.example.se"
TARGET_SECONDS = 2.0

SUBJECTS = (
    "Bokstart", "Läsfrämjande satsning", "Skolbiblioteket", "Meröppet bibliotek",
    "Ny biblioteksplan", "Digital vägledning", "Språkcafé", "Talböcker", "Bokbussen",
    "Sommarboken", "Lovaktiviteter", "Författarbesök", "Källkritikskurs", "Barnens bibliotek",
    "Mediestrategi", "E-boksavtalet", "Läsombud", "Samiska biblioteksrummet", "Finska veckan",
    "Fjärrlånen", "Biblioteksstatistiken", "Kulturrådets bidrag", "Regionbiblioteket",
    "Läslyftet", "Integrationsprojektet", "Minoritetsspråken", "Högläsning för äldre",
    "Makerspace", "Bokcirkeln", "Lättläst-hyllan", "Demokratisamtalen", "Valet 2026",
    "Beredskapsplanen", "Klimatveckan", "Upphovsrätten", "Personalens kompetens",
    "Bibliotekschefen", "Nya öppettider", "Trygghetsvärdar", "Tillgänglighetsarbetet",
    "Läsrörelsen", "Barnboksfestivalen", "Skrivarverkstaden", "Medieinköpen", "Filialen",
)
VERBS = (
    "utökas i", "startar i", "läggs ned i", "får stöd i", "utreds i", "lockar fler i",
    "kritiseras i", "prisas i", "flyttar i", "förnyas i", "pausas i", "växer i",
    "förlängs i", "samordnas i", "granskas i", "sjösätts i", "blir kvar i", "halveras i",
    "digitaliseras i", "byggs om i", "öppnar igen i", "lanseras i", "omorganiseras i",
    "utvärderas i", "fördubblas i", "permanentas i",
)
PLACES = (
    "Arboga Askersund Borlänge Degerfors Eksjö Eskilstuna Falun Gnosjö Gävle Hallsberg "
    "Hedemora Hjo Härnösand Jönköping Kalmar Karlskoga Karlstad Kiruna Kumla Laxå Lekeberg "
    "Lindesberg Linköping Ljusnarsberg Luleå Lund Malmö Mora Motala Nora Norrköping Nyköping "
    "Orsa Oskarshamn Piteå Sala Sandviken Skellefteå Skövde Sundsvall Sunne Södertälje Torsby "
    "Trollhättan Uddevalla Umeå Uppsala Vara Varberg Vetlanda Visby Västerås Växjö Ydre Åmål "
    "Älvdalen Örebro Östersund Öckerö Haparanda Ljungby Tranås Ystad").split()
DETAILS = (
    "efter nytt beslut", "under våren", "med statligt stöd", "trots besparingar",
    "för unga vuxna", "för nyanlända", "på fler språk", "i samverkan med skolan",
    "med längre öppettider", "inför nästa år", "efter kritik", "som pilotprojekt",
    "med nya medarbetare", "för alla åldrar", "i hela länet", "enligt ny rapport",
    "efter medborgarförslag", "med hjälp av volontärer", "för personer med dyslexi",
    "med fokus på läslust", "i glesbygden", "under sportlovet", "med ny teknik",
    "för seniorer", "tillsammans med föreningar", "efter pandemin", "med extra anslag",
    "i nytt samarbete", "för familjer", "på lördagar", "med digitala verktyg",
)
SENTENCES = (
    "Folkbiblioteket i {place} {verb} arbetet med {thing}.",
    "Beslutet fattades av kulturnämnden i {place} i veckan.",
    "Satsningen riktar sig särskilt till {group}.",
    "Enligt bibliotekschefen handlar det om att nå {group} som sällan besöker biblioteket.",
    "Regionbiblioteket stöttar med {thing} och erfarenhetsutbyte.",
    "Under hösten har {number} personer deltagit i {thing}.",
    "Arbetet följer den regionala biblioteksplanen och bibliotekslagens prioriterade grupper.",
    "Kostnaden beräknas till {number} 000 kronor per år.",
    "Utvärderingen visar att {group} uppskattar {thing}.",
    "Nästa steg är att sprida metoden till fler kommuner i länet.",
)
NOUNS = (
    "läslust bokprat högläsning språkcaféer talböcker lättläst källkritik skrivarverkstäder "
    "bokcirklar e-legitimation medieplaner lokaler öppettider personal kompetens ledarskap "
    "budget anslag bidrag statistik forskning utvärdering enkäter besökare låntagare utlån "
    "e-böcker ljudböcker avtal förlag upphovsrätt medieförsörjning fjärrlån katalog bokbussar "
    "filialer skolor förskolor lärare elever föräldrar småbarn tonåringar seniorer nyanlända "
    "minoriteter samiska meänkieli finska romani jiddisch teckenspråk dyslexi syntolkning "
    "tillgänglighet trygghet säkerhet ordningsvakter beredskap krisplaner klimat hållbarhet "
    "återbruk makerspace spel film musik konst utställningar författare illustratörer poesi "
    "serier barnböcker ungdomsböcker facklitteratur tidskrifter dagstidningar arkiv museer "
    "folkbildning studieförbund föreningar volontärer integration arbetsmarknad demokrati "
    "yttrandefrihet desinformation valet samverkan nätverk konferenser seminarier kurser "
    "handledning metoder strategier planer riktlinjer uppdrag myndigheter regioner kommuner "
    "nämnder politiker styrdokument lagstiftning digitalisering teknik wifi datorer skrivare "
    "lånekort meröppet självbetjäning sommarlov sportlov höstlov jul").split()
THINGS = ("läsfrämjande aktiviteter", "digital vägledning", "bokprat", "språkcaféer",
          "talböcker och lättläst", "källkritik", "skrivarverkstäder", "bokcirklar",
          "e-legitimation", "medieplaner", "samverkan med skolan", "nya lokaler")
GROUPS = ("barn och unga", "nyanlända", "äldre", "personer med funktionsnedsättning",
          "nationella minoriteter", "unga vuxna", "småbarnsfamiljer", "lärare")
SOURCE_NAMES = (
    "Kungliga biblioteket", "Kulturrådet", "Biblioteksbladet", "Svensk biblioteksförening",
    "Myndigheten för tillgängliga medier", "Myndigheten för kulturanalys", "Skolverket",
    "Sveriges Kommuner och Regioner", "Regionbibliotek Stockholm", "Region Örebro län",
    "Region Skåne", "Västra Götalandsregionen", "Region Uppsala", "Region Dalarna",
    "Region Jämtland Härjedalen", "Region Norrbotten", "Region Västerbotten", "Region Gävleborg",
    "Region Värmland", "Region Halland", "Region Kalmar län", "Region Kronoberg",
    "Region Jönköpings län", "Region Östergötland", "Region Sörmland", "Region Västmanland",
    "Region Blekinge", "Region Gotland", "Region Västernorrland", "Läsrörelsen",
    "Svenska Barnboksinstitutet", "Sametinget", "Sverigefinländarnas delegation",
    "Internetstiftelsen", "Nationalbiblioteket Finland", "Nasjonalbiblioteket",
    "Slots- og Kulturstyrelsen", "IFLA", "Svensk Bokhandel", "Dagens Samhälle",
)


# --- the generated week ----------------------------------------------------------------------


def make_sources(rng: random.Random) -> dict[str, Source]:
    weights = (0.5, 1.0, 1.0, 1.0, 1.2, 1.5, 2.0)
    ids = [f"kalla-{n:02d}" for n in range(len(SOURCE_NAMES))]
    return {sid: Source(sid, name, f"https://{sid}.example.se/rss", weight=rng.choice(weights))
            for sid, name in zip(ids, SOURCE_NAMES)}


def make_items(rng: random.Random, count: int, sources: dict[str, Source],
               taxonomy: Taxonomy) -> list[ArchivedItem]:
    """`count` items of the week; about 10 % of them in stories of 2–4 sources."""
    start, end = week_bounds(WEEK)
    span = (end - start).total_seconds()
    tag_ids = [tag.id for tag in taxonomy.tags]
    popularity = [1 / (rank + 1) ** 0.7 for rank in range(len(tag_ids))]
    source_ids = list(sources)
    items: list[ArchivedItem] = []
    while len(items) < count:
        published = start + timedelta(seconds=rng.uniform(0, span * 0.97))
        lead = _item(rng, len(items) + 1, rng.choice(source_ids), published, tag_ids, popularity)
        items.append(lead)
        if rng.random() < 0.035 and len(items) < count:  # ≈ 10 % of items end up in stories
            for reprint in _reprints(rng, lead, source_ids, count - len(items)):
                items.append(reprint)
    return items


def _item(rng, item_id, source, published, tag_ids, popularity) -> ArchivedItem:
    place, relevant = rng.choice(PLACES), rng.random() < 0.9
    first, second = rng.sample(NOUNS, 2)
    title = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {place} – {first} och {second}"
    words = dict(place=place, verb=rng.choice(("utvecklar", "breddar", "förstärker", "ser över")),
                 thing=rng.choice(THINGS), group=rng.choice(GROUPS), number=rng.randint(12, 900))
    summary = " ".join(s.format(**words) for s in rng.sample(SENTENCES, rng.randint(2, 4)))
    details = ()
    if relevant:
        chosen = set(rng.choices(tag_ids, popularity, k=rng.choice((1, 1, 2, 2, 3))))
        why = "träffar: {}*, bibliotek*; modell: " + place.lower()
        details = tuple(ItemTag(tag, round(rng.uniform(0.3, 1.0), 2), why.format(tag.split("-")[0]),
                                rng.choice(("rule", "model", "rule+model")))
                        for tag in sorted(chosen))
    return ArchivedItem(
        id=item_id, source=source, sources=(source,),
        url=f"https://{source}.example.se/nyheter/{item_id}", title=title,
        summary=f"<p>{summary}</p>" if rng.random() < 0.3 else summary,
        published=published, fetched=published + timedelta(minutes=rng.randint(5, 90)),
        lang="sv", tags=tuple(t.tag for t in details), relevant=relevant, tag_details=details,
        story=item_id)


def _reprints(rng, lead: ArchivedItem, source_ids: list[str], room: int) -> list[ArchivedItem]:
    others = rng.sample([s for s in source_ids if s != lead.source], rng.randint(1, 3))[:room]
    reprints = []
    for offset, source in enumerate(others, start=1):
        title = rng.choice((lead.title, f"Så {lead.title[0].lower()}{lead.title[1:]}",
                            f"{lead.title} – läs mer"))
        reprints.append(dataclasses.replace(
            lead, id=lead.id + offset, source=source, sources=(source,), title=title,
            url=f"https://{source}.example.se/artikel/{lead.id + offset}",
            published=lead.published + timedelta(hours=rng.randint(1, 30)), story=lead.id))
    return reprints


def make_definition(rng: random.Random, count: int, taxonomy: Taxonomy) -> DigestDefinition:
    top = list(taxonomy.top_level)
    recipients = []
    for n in range(count):
        email = f"chef{n:02d}@kommun{n:02d}.example.se"
        kind = n % 10
        topics = tuple(sorted(rng.sample(top, rng.randint(1, 4)))) if kind in (1, 4, 7) else ()
        recipients.append(Recipient(f"Bibliotekschef {n:02d}", email, topics,
                                    1 if kind == 9 else None))
    return DigestDefinition(id="bibliotekschefer", title="Omvärldsbevakning Region Exempel",
                            recipients=tuple(recipients), rising_topics=True, source_health=True)


def make_history(rng: random.Random, taxonomy: Taxonomy) -> dict[str, list[int]]:
    """8 earlier weeks; three tags had far fewer stories before (they are rising now)."""
    history = {}
    for n, tag in enumerate(taxonomy.top_level):
        typical = 40 if n in (2, 7, 11) else 700
        history[tag] = [max(0, int(rng.gauss(typical, typical * 0.15))) for _ in range(8)]
    return history


def make_failing(sources: dict[str, Source]) -> list[SourceHealth]:
    ids = list(sources)[-3:]
    return [SourceHealth(sid, NOW - timedelta(days=n + 2), f"{sid}: http_404 — flödet finns inte",
                         "http_404", n + 3, 0, 0, NOW + timedelta(hours=4))
            for n, sid in enumerate(ids)]


# --- the peer: no stories, sort by score ------------------------------------------------------


def naive_content(definition, items, taxonomy, sources, recipient) -> DigestContent:
    start, end = digest_window(definition, WEEK, NOW)
    sections = [s for s in section_order(definition, taxonomy)
                if (not recipient.topics or s in recipient.topics)
                and (recipient.min_priority is None
                     or taxonomy.by_id(s).priority <= recipient.min_priority)]
    allowed = set(sections)
    candidates = []  # (rank, item, its tags in the followed sections, best of them)
    for item in items:
        if item.relevant is not True or not start <= item.published < end:
            continue
        tags = [t for t in item.tag_details if t.tag in allowed]
        if tags:
            best = max(tags, key=lambda t: t.score)
            rank = round(best.score * sources[item.source].weight / 2, 6)
            candidates.append((rank, item, tags, best))
    candidates.sort(key=lambda c: (-c[0], c[1].id))
    chosen, per_section = candidates[: definition.top_count], Counter()
    for candidate in candidates[definition.top_count:]:
        per_section[candidate[3].tag] += 1
        if per_section[candidate[3].tag] <= definition.items_per_section:
            chosen.append(candidate)
    entries = [_naive_entry(rank, item, tags, best, taxonomy, sources)
               for rank, item, tags, best in chosen]
    top, rest = entries[: definition.top_count], entries[definition.top_count:]
    built = []
    for tag in sections:
        mine = tuple(e for e in rest if e.section == tag)
        if mine:
            built.append(Section(tag, label(tag, taxonomy, "sv"), taxonomy.by_id(tag).priority,
                                 mine, max(0, per_section[tag] - len(mine))))
    return DigestContent(definition.id, definition.title, "sv", WEEK, start, end, NOW,
                         recipient.email, tuple(top), tuple(built))


def _naive_entry(rank, item, tags, best, taxonomy, sources) -> DigestEntry:
    return DigestEntry(
        item_id=item.id, story_item_ids=(item.id,), title=item.title, url=item.url,
        source_name=sources[item.source].name, published=item.published,
        summary=summarise(item.summary), tags=tuple(label(t.tag, taxonomy, "sv") for t in tags),
        tag_ids=tuple(t.tag for t in tags), section=best.tag, why=best.why,
        also_reported_by=(), coverage=1, rank=rank)


# --- measuring --------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_scanner(definition, items, taxonomy, sources, history, failing,
                max_seconds: float) -> dict:
    """Every recipient, unless the pass runs past `max_seconds`: then it stops, and the
    figures are for the recipients done (`done`), extrapolated by the caller."""
    stories = {i.id: i.story for i in items if i.story is not None}  # as content_for does
    build = render = 0.0
    first = None
    sizes, shown, done = [], [], 0
    wall = time.perf_counter()
    cpu = time.process_time()
    grouped = group_week(items, stories, sources, digest_window(definition, WEEK, NOW))
    grouping = time.perf_counter() - wall  # once per digest week, counted in build and wall
    build += grouping
    for recipient in definition.recipients:
        if time.perf_counter() - wall > max_seconds:
            break
        t0 = time.perf_counter()
        content = build_digest(definition, items, taxonomy, sources, stories, history, failing,
                               set(), recipient, NOW, WEEK, grouped=grouped)
        t1 = time.perf_counter()
        rendered = render_digest(content, definition, recipient, PUBLIC_URL, SECRET, NOW)
        t2 = time.perf_counter()
        build, render = build + t1 - t0, render + t2 - t1
        first = first if first is not None else t2 - t0 + grouping
        sizes.append(rendered.size)
        shown.append(rendered.content.entry_count)
        done += 1
    return dict(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu, build=build,
                render=render, first=first, sizes=sizes, shown=shown, done=done)


def run_peer(definition, items, taxonomy, sources) -> dict:
    build = render = 0.0
    sizes, shown = [], []
    wall = time.perf_counter()
    cpu = time.process_time()
    for recipient in definition.recipients:
        t0 = time.perf_counter()
        content = naive_content(definition, items, taxonomy, sources, recipient)
        t1 = time.perf_counter()
        rendered = render_digest(content, definition, recipient, PUBLIC_URL, SECRET, NOW)
        t2 = time.perf_counter()
        build, render = build + t1 - t0, render + t2 - t1
        sizes.append(rendered.size)
        shown.append(rendered.content.entry_count)
    return dict(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu, build=build,
                render=render, sizes=sizes, shown=shown, done=len(definition.recipients))


def time_grouping(definition, items, sources) -> tuple[float, int]:
    """group_stories over the week's relevant items once (build_digest does it per recipient)."""
    start, end = digest_window(definition, WEEK, NOW)
    chosen = [i for i in items if i.relevant is True and start <= i.published < end]
    t0 = time.perf_counter()
    grouped = group_stories(chosen, {i.id: i.story for i in chosen}, sources)
    return time.perf_counter() - t0, len(grouped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=50)
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument("--max-seconds", type=float, default=60,
                        help="stop the scanner pass after this long and extrapolate")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    taxonomy = load_taxonomy(TAXONOMY_PATH)
    sources = make_sources(rng)
    t0 = time.perf_counter()
    items = make_items(rng, args.items, sources, taxonomy)
    definition = make_definition(rng, args.recipients, taxonomy)
    history, failing = make_history(rng, taxonomy), make_failing(sources)
    generated = time.perf_counter() - t0
    per_story = Counter(i.story for i in items)
    in_stories = sum(1 for i in items if per_story[i.story] > 1)
    print(f"week {WEEK}: {len(items)} items ({sum(i.relevant for i in items)} relevant, "
          f"{in_stories} in multi-source stories) from {len(sources)} sources, "
          f"{len(definition.recipients)} recipients "
          f"({sum(bool(r.topics) for r in definition.recipients)} with topics, "
          f"{sum(r.min_priority is not None for r in definition.recipients)} priority 1 only); "
          f"generated in {generated:.2f} s")
    rss_before = current_rss_mb()

    ours = run_scanner(definition, items, taxonomy, sources, history, failing,
                       args.max_seconds)
    peak_ours = peak_rss_mb()
    peer = run_peer(definition, items, taxonomy, sources)
    grouping, story_count = time_grouping(definition, items, sources)
    n = len(definition.recipients)

    print(f"\n{'engine':<26}{'recipients':>11}{'wall s':>8}{'cpu s':>7}{'per recipient ms':>18}"
          f"{'build s':>9}{'render s':>9}{'stories shown':>15}{'max size kB':>13}")
    for name, row in (("scanner build+render", ours), ("peer: naive sort+render", peer)):
        done = max(row["done"], 1)
        print(f"{name:<26}{row['done']:>11}{row['wall']:>8.2f}{row['cpu']:>7.2f}"
              f"{row['wall'] / done * 1000:>18.1f}{row['build']:>9.2f}{row['render']:>9.2f}"
              f"{sum(row['shown']) / done:>15.1f}{max(row['sizes'], default=0) / 1000:>13.1f}")
    total = ours["wall"] / max(ours["done"], 1) * n
    if ours["done"] < n:
        print(f"(scanner pass stopped after {args.max_seconds:.0f} s: {ours['done']} of {n} "
              f"recipients; all {n} extrapolated: {total:.0f} s)")
    print(f"\nscanner: first recipient {ours['first'] * 1000:.0f} ms (includes grouping the week "
          f"and compiling the templates); RSS {rss_before:.0f} MB before, peak "
          f"{peak_ours:.0f} MB (the generated week included)")
    print(f"story grouping alone (group_stories over the week's relevant items; the timed pass "
          f"groups once with group_week and shares it): {grouping:.2f} s, {story_count} stories")
    print(f"scanner/peer wall ratio per recipient: "
          f"{(ours['wall'] / max(ours['done'], 1)) / (peer['wall'] / n):.1f}x")
    met = ours["done"] == n and ours["wall"] <= TARGET_SECONDS
    print(f"target: {n} recipients from {len(items)} items within {TARGET_SECONDS:.0f} s — "
          f"{'met' if met else 'NOT met'} ({total:.2f} s)")


if __name__ == "__main__":
    main()
