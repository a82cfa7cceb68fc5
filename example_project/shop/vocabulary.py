"""Words the seed builds names, addresses and reviews from.

Kept as plain text blocks so the lists read like data, not code.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``"Name:CODE, Other name:CODE"`` into ``(name, code)`` pairs."""
    pairs = (item.rsplit(":", 1) for item in text.split(","))
    return tuple((name.strip(), code.strip()) for name, code in pairs)


FIRST_NAMES = _words(
    """
    Ada Alan Anna Arjun Beatriz Chen Chloe Dara Diego Elena Emeka Farah Grace Hana Ines Ivan
    Jamal Julia Kai Kenji Lara Leila Liam Lucia Maya Mateo Mei Nadia Noah Olga Omar Priya
    Rafael Rosa Sami Sofia Tariq Yara Yusuf Zoe
    """
)
LAST_NAMES = _words(
    """
    Abe Adeyemi Berg Costa Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Kim Lopez
    Martin Meyer Moreau Nakamura Novak Okafor Olsen Park Patel Petrov Quinn Rossi Santos
    Schmidt Silva Singh Smith Tanaka Torres Varga Wagner Weber Wong Yilmaz Zhang
    """
)
DOMAINS = _words("example.com mail.example.net shop.example.org post.example.de")
CITIES = _pairs(
    """
    Amsterdam:NL, Berlin:DE, Bordeaux:FR, Bristol:GB, Brno:CZ, Cork:IE, Dresden:DE,
    Gdansk:PL, Ghent:BE, Graz:AT, Hamburg:DE, Lisbon:PT, Lyon:FR, Madrid:ES, Malmo:SE,
    Milan:IT, Munich:DE, Oslo:NO, Porto:PT, Prague:CZ, Seville:ES, Tampere:FI, Turin:IT,
    Utrecht:NL
    """
)
STREETS = _words("Mill Station Church High Park Garden Bridge River Market Castle Lake Oak")
ROOTS = _words("Kitchen Garden Outdoor Office Toys Books Audio Lighting Bath Sports Pets Tools")
KINDS = _words("Essentials Accessories Classics Premium Basics")
TAGS = _words(
    """
    bestseller new eco handmade vegan gift sale limited organic recycled durable compact
    wireless waterproof lightweight premium budget kids family travel vintage modern classic
    smart portable foldable washable refillable local imported seasonal
    """
)
ADJECTIVES = _words("Sturdy Classic Compact Deluxe Everyday Foldable Light Nordic Pro Quiet Smart")
NOUNS = _words("Kettle Lamp Chair Backpack Speaker Mug Planter Notebook Blanket Bottle Drill Mat")
WORDS = _words(
    """
    great good solid fine broken arrived quickly slowly quality price value works well poorly
    would buy again recommend not size colour smaller bigger than expected the it and but for
    my kids gift easy hard to use clean assemble instructions packaging
    """
)
CARRIERS = _pairs(
    """
    Parcelway:PW, Northpost:NP, Swiftline:SL, Bluebox Freight:BB, Cargo Hare:CH,
    Metro Couriers:MC, Alpine Express:AE, Harbour Logistics:HL
    """
)
LOG_MESSAGES = (
    "order received",
    "payment captured",
    "fraud check passed",
    "stock reserved",
    "label printed",
    "handed to carrier",
    "webhook delivered",
    "invoice sent",
)
