"""A week of library news (2026-W47, 16–22 November) for the digest tests, written for them.

NOW is Monday 23 November 2026, 07:00 in Stockholm: the digest covers the week before.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.models import ArchivedItem, ItemTag, Source, SourceHealth, Taxonomy, TaxonomyTag

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
WEEK = "2026-W47"
MONDAY = datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)  # 16 Nov 00:00 in Stockholm
SECRET = "test-hemlighet-som-bara-finns-i-testerna"
PUBLIC_URL = "https://omvarld.example.se"

SPEC = (  # id, Swedish label, English label, priority (taxonomy-spec.md)
    ("demokrati", "Demokrati och yttrandefrihet", "Democracy and freedom of expression", 1),
    ("mik", "Medie- och informationskunnighet", "Media and information literacy", 2),
    ("lasframjande", "Läsfrämjande och litteratur", "Reading promotion and literature", 1),
    ("barn-unga", "Barn och unga", "Children and young people", 1),
    ("skolbibliotek", "Skolbibliotek", "School libraries", 2),
    ("tillganglighet", "Funktionsnedsättning och tillgänglighet", "Disability and accessibility",
     1),
    ("sprak-minoriteter", "Nationella minoriteter och flerspråkighet",
     "National minorities and multilingualism", 1),
    ("digital-delaktighet", "Digital delaktighet", "Digital inclusion", 1),
    ("inkludering", "Inkludering och likvärdighet", "Inclusion and equity", 2),
    ("verksamhetsutveckling", "Verksamhetsutveckling och metoder", "Service development", 2),
    ("kompetens-ledarskap", "Kompetensutveckling och ledarskap", "Skills and leadership", 2),
    ("styrning-finansiering", "Styrning, lagstiftning och finansiering",
     "Policy, law and funding", 1),
    ("statistik-forskning", "Statistik, uppföljning och forskning", "Statistics and research", 3),
    ("medier-upphovsratt", "Medier, e-böcker och upphovsrätt", "Media, e-books and copyright", 3),
    ("trygghet", "Trygghet och säkerhet", "Safety and security", 2),
    ("beredskap", "Beredskap och totalförsvar", "Preparedness and total defence", 2),
    ("hallbarhet", "Hållbarhet och Agenda 2030", "Sustainability and Agenda 2030", 3),
)


def taxonomy(children: tuple[TaxonomyTag, ...] = ()) -> Taxonomy:
    tags = tuple(TaxonomyTag(i, sv, en, priority=p) for i, sv, en, p in SPEC)
    return Taxonomy(tags=tags + children, path="taxonomy.yaml")


SOURCES = {
    s.id: s for s in (
        Source("kb", "Kungliga biblioteket", "https://www.kb.se/rss", weight=1.5),
        Source("kulturradet", "Kulturrådet", "https://www.kulturradet.se/rss", weight=1.5),
        Source("biblioteksbladet", "Biblioteksbladet", "https://www.biblioteksbladet.se/rss"),
        Source("biblioteksforeningen", "Svensk biblioteksförening",
               "https://www.biblioteksforeningen.se/feed", weight=1.2),
        Source("mtm", "Myndigheten för tillgängliga medier", "https://www.mtm.se/rss",
               weight=1.2),
        Source("regionbibliotek-stockholm", "Regionbibliotek Stockholm",
               "https://regionbiblioteket.example.se/feed"),
        Source("region-orebro-lan", "Region Örebro län", "https://www.regionorebrolan.se/rss"),
        Source("kulturanalys", "Myndigheten för kulturanalys", "https://kulturanalys.se/feed.json"),
    )
}


def at(day: int, hour: int = 9) -> datetime:
    """A moment in week 47: day 0 = Monday 16 November, `hour` Stockholm time."""
    return MONDAY + timedelta(days=day, hours=hour)


def item(item_id: int, source: str, title: str, summary: str, published: datetime,
         tags: dict[str, float], relevant: bool | None = True, why: str = "",
         sources: tuple[str, ...] = ()) -> ArchivedItem:
    details = tuple(ItemTag(tag, score, why or f"nämner {tag}", "rule+model")
                    for tag, score in tags.items())
    return ArchivedItem(
        id=item_id, source=source, sources=sources or (source,),
        url=f"https://nyheter.example.se/{source}/{item_id}", title=title, summary=summary,
        published=published, fetched=published + timedelta(minutes=20), lang="sv",
        tags=tuple(tags), relevant=relevant, tag_details=details)


def week_items() -> list[ArchivedItem]:
    return [
        item(1, "kb", "Ny nationell biblioteksstatistik: fler besök men färre utlån",
             "KB:s statistik för 2025 visar att folkbiblioteken fick 4 procent fler besök. "
             "Utlånen av fysiska böcker minskade däremot för tredje året i rad. Statistiken "
             "bygger på uppgifter från alla landets kommuner.",
             at(1, 10), {"statistik-forskning": 0.9},
             why="handlar om KB:s biblioteksstatistik"),
        item(2, "kulturradet", "Kulturrådet fördelar 75 miljoner till Stärkta bibliotek 2027",
             "Regeringen förlänger satsningen Stärkta bibliotek. Kulturrådet fördelar 75 "
             "miljoner kronor till kommuner som vill utöka öppettider, bl.a. på landsbygden. "
             "Ansökan öppnar i januari.",
             at(0, 8), {"styrning-finansiering": 0.92, "verksamhetsutveckling": 0.5},
             why="statsbidraget Stärkta bibliotek"),
        item(3, "biblioteksbladet",
             "Kulturrådet fördelar 75 miljoner till Stärkta bibliotek under 2027",
             "Pengarna ska gå till längre öppettider och fler aktiviteter.",
             at(0, 14), {"styrning-finansiering": 0.8}),
        item(4, "biblioteksforeningen",
             "Biblioteksföreningen: oroande ökning av krav på att ta bort böcker",
             "Fler bibliotek rapporterar krav från politiker och privatpersoner på att "
             "enskilda titlar ska gallras. Föreningen påminner om bibliotekslagens "
             "skrivning om fri åsiktsbildning.",
             at(2, 11), {"demokrati": 0.88}, why="krav på att ta bort böcker"),
        item(5, "mtm", "Legimus når 200 000 användare",
             "Talboksappen Legimus har nu över 200 000 registrerade användare. Flest nya "
             "användare finns bland elever med läsnedsättning.",
             at(3, 9), {"tillganglighet": 0.85}, why="Legimus och talböcker"),
        item(6, "regionbibliotek-stockholm",
             "Språkkaféer i hela länet: nytt nätverk för bibliotekens samordnare",
             "Regionbiblioteket startar ett nätverk för alla som leder språkkaféer. Första "
             "träffen hålls digitalt i december.",
             at(1, 13), {"sprak-minoriteter": 0.7, "verksamhetsutveckling": 0.4},
             why="språkkaféer för nyanlända"),
        item(7, "region-orebro-lan", "Meröppna bibliotek utreds i tre kommuner",
             "Tre kommuner i länet utreder meröppet på sina filialer. Regionen stöttar med "
             "en förstudie om bemanning och trygghet.",
             at(4, 15), {"verksamhetsutveckling": 0.8}, why="meröppna bibliotek"),
        item(8, "kulturanalys", "Rapport: läsandet bland unga fortsätter att minska",
             "Andelen unga som läser böcker på fritiden minskar enligt en ny rapport. "
             "Skillnaderna mellan grupper växer.",
             at(2, 8), {"lasframjande": 0.8, "barn-unga": 0.7, "statistik-forskning": 0.6},
             why="ungas läsvanor"),
        item(9, "biblioteksbladet", "Hot mot bibliotekspersonal ökar enligt ny enkät",
             "Var fjärde bibliotekarie har utsatts för hot eller trakasserier det senaste "
             "året. Fackförbundet kräver ett nationellt stöd.",
             at(3, 16), {"trygghet": 0.75}, why="hot mot personal"),
        item(10, "kulturradet", "Bokstart växer: nu med i 120 kommuner",
             "Bokstart når nu familjer i 120 kommuner. Läsombud besöker nyblivna föräldrar "
             "och ger böcker till de minsta.",
             at(4, 10), {"lasframjande": 0.9, "barn-unga": 0.8}, why="Bokstart"),
        item(11, "regionbibliotek-stockholm", "Så arbetar länets bibliotek med Bokstart",
             "Fem kommuner berättar om hembesök och språkstimulans.",
             at(4, 13), {"lasframjande": 0.7}),
        item(12, "kulturradet", "Läsrådet föreslår en nationell läsdag",
             "Läsrådet vill att en dag om året ägnas åt läsning i skolor, bibliotek och på "
             "arbetsplatser. Förslaget lämnas till regeringen i vår.",
             at(5, 10), {"lasframjande": 0.75}, why="Läsrådet"),
        item(13, "kb", "Digitalhjälp på biblioteket: BankID-frågor dominerar",
             "Var tredje fråga i bibliotekens digitala hjälp gäller BankID, visar en "
             "kartläggning. Många besökare är över 75 år.",
             at(1, 15), {"digital-delaktighet": 0.8}, why="hjälp med BankID"),
        item(14, "biblioteksbladet",
             "Fler elever har tillgång till bemannat skolbibliotek",
             "Andelen elever med ett bemannat skolbibliotek har ökat till 62 procent, enligt "
             "Skolverkets nya uppföljning.",
             at(2, 14), {"skolbibliotek": 0.85}, why="bemannade skolbibliotek"),
        # never shown: judged not relevant, not tagged yet, or outside the week
        item(15, "biblioteksbladet", "Julmarknad på stadens torg",
             "Glögg och pepparkakor på torget.", at(3, 12), {"verksamhetsutveckling": 0.3},
             relevant=False),
        item(16, "kb", "Ändrade öppettider i jul", "KB har stängt 24–26 december.", at(5, 9),
             {}, relevant=None),
        item(17, "kulturradet", "Förra veckans nyhet om läsfrämjande",
             "Publicerad söndagen före veckan.", MONDAY - timedelta(hours=2),
             {"lasframjande": 0.95}),
    ]


STORIES = {10: 900, 11: 900}  # the archive already knows 10 and 11 are one story
HISTORY = {"lasframjande": [1, 0, 1, 2, 0, 1, 1, 0], "demokrati": [1, 1, 0, 1, 2, 1, 0, 1],
           "styrning-finansiering": [2, 3, 2, 2, 3, 2, 2, 3],
           "verksamhetsutveckling": [2, 1, 2, 1, 3, 2, 1, 2]}
FAILING = [
    SourceHealth("region-orebro-lan", datetime(2026, 11, 18, 7, tzinfo=timezone.utc),
                 "HTTP 503 Service Unavailable", "http-503", 9, 0, 12, None),
    SourceHealth("kulturanalys", None, "the feed is not valid JSON", "parse-error", 3, 0, 0, None,
                 disabled_reason=None, moved_to="https://www.kulturanalys.se/feed.json"),
]

MANAGER = Recipient("Anna Lindqvist", "anna.lindqvist@example.se")
MANAGERS = DigestDefinition(id="bibliotekschefer", title="Omvärldsbevakning",
                            recipients=(MANAGER,), path="digests/bibliotekschefer.yaml")
STAFF_MEMBER = Recipient("Sara Ek", "sara.ek@example.se")
STAFF = DigestDefinition(id="personal", title="Omvärldsbevakning för regionbiblioteket",
                         recipients=(STAFF_MEMBER,), items_per_section=10, top_count=5,
                         source_health=True, path="digests/personal.yaml")
