"""Reference data for synthetic Copart feed rows: yards, vehicles and value vocabularies.

Values copy what real member-feed files contain (docs copart-csv.md), traps included:
truncated model names, ZIP+4 with a space, Canadian postal codes, zones without DST.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Yard:
    number: int
    name: str
    city: str
    state: str
    zip: str
    zone_std: str
    zone_dst: str  # equal to zone_std where the yard has no daylight saving time
    country: str
    currency: str


@dataclass(frozen=True, slots=True)
class Vehicle:
    make: str
    model_group: str  # already truncated as the source does (~10 characters)
    model_detail: str
    body: str  # 8 characters at most
    wmi: str  # world manufacturer identifier: first 3 VIN characters
    engine: str
    cylinders: str
    drive: str
    fuel: str
    trim: str


YARDS: tuple[Yard, ...] = (
    Yard(1, "CA - VALLEJO", "VALLEJO", "CA", "94590 7203", "PST", "PDT", "USA", "USD"),
    Yard(12, "TX - DALLAS", "DALLAS", "TX", "75241", "CST", "CDT", "USA", "USD"),
    Yard(27, "FL - MIAMI NORTH", "OPA LOCKA", "FL", "33054 4321", "EST", "EDT", "USA", "USD"),
    Yard(44, "AZ - PHOENIX", "PHOENIX", "AZ", "85043", "MST", "MST", "USA", "USD"),
    Yard(58, "CO - DENVER", "BRIGHTON", "CO", "80603", "MST", "MDT", "USA", "USD"),
    Yard(71, "HI - HONOLULU", "KAPOLEI", "HI", "96707", "HST", "HST", "USA", "USD"),
    Yard(75, "AK - ANCHORAGE", "ANCHORAGE", "AK", "99501 2020", "AKST", "AKDT", "USA", "USD"),
    Yard(103, "NY - LONG ISLAND", "YAPHANK", "NY", "11980", "EST", "EDT", "USA", "USD"),
    Yard(154, "IL - CHICAGO NORTH", "ELGIN", "IL", "60123", "CST", "CDT", "USA", "USD"),
    Yard(39, "GA - ATLANTA EAST", "ELLENWOOD", "GA", "30294", "EST", "EDT", "USA", "USD"),
    Yard(91, "WA - SEATTLE", "AUBURN", "WA", "98001 6508", "PST", "PDT", "USA", "USD"),
    Yard(204, "NB - MONCTON", "MONCTON", "NB", "E1E 4R8", "EST", "EDT", "CAN", "CAD"),
    Yard(207, "ON - TORONTO", "HALTON HILLS", "ON", "L7G 4S4", "EST", "EDT", "CAN", "CAD"),
)

VEHICLES: tuple[Vehicle, ...] = (
    Vehicle("JEEP", "GRAND CHER", "GRAND CHER", "4DR SPOR", "1C4", "3.6L  6", "6",
            "4x4 w/Front Whl Drv", "GAS", "LAREDO"),
    Vehicle("FORD", "F150 SUPER", "F150 SUPER", "PICKUP", "1FT", "5.0L  8", "8",
            "4x4 w/Rear Wheel Drv", "FLEXIBLE FUEL", "XLT"),
    Vehicle("FORD", "EXPLORER", "EXPLORER X", "4DR SPOR", "1FM", "2.3L  4", "4",
            "Rear-wheel drive", "GAS", "XLT"),
    Vehicle("TOYOTA", "CAMRY", "CAMRY LE", "SEDAN 4D", "4T1", "2.5L  4", "4",
            "Front-wheel Drive", "GAS", "LE"),
    Vehicle("TOYOTA", "PRIUS", "PRIUS", "HATCHBAC", "JTD", "1.8L  4", "4",
            "Front-wheel Drive", "HYBRID ENGINE", ""),
    Vehicle("HONDA", "CIVIC", "CIVIC EX", "SEDAN 4D", "19X", "2.0L 4", "4",
            "Front-wheel Drive", "GAS", "EX"),
    Vehicle("NISSAN", "ROGUE", "ROGUE S", "4DR SPOR", "5N1", "2.5L  4", "4",
            "All wheel drive", "GAS", "S"),
    Vehicle("CHEVROLET", "SILVERADO", "SILVERADO", "PICKUP", "1GC", "5.3L  8", "8",
            "4x4 w/Rear Wheel Drv", "GAS", "LT"),
    Vehicle("MERCEDES-BENZ", "GL-CLASS", "GL 450 4MA", "4DR SPOR", "4JG", "4.6L  8", "8",
            "All wheel drive", "GAS", "GL 450"),
    Vehicle("TESLA", "MODEL 3", "MODEL 3", "SEDAN 4D", "5YJ", "", "",
            "Rear-wheel drive", "ELECTRIC", "STANDARD RANGE"),
    Vehicle("HYUNDAI", "ELANTRA", "ELANTRA SE", "SEDAN 4D", "KMH", "2.0L 4", "4",
            "Front-wheel Drive", "GAS", "SE"),
    Vehicle("RAM", "2500", "2500 TRADE", "PICKUP", "3C6", "6.7L  6", "6",
            "4x4 w/Rear Wheel Drv", "DIESEL", "TRADESMAN"),
    Vehicle("BMW", "X5", "X5 XDRIVE3", "4DR SPOR", "5UX", "3.0L  6", "6",
            "All wheel drive", "GAS", "XDRIVE35I"),
    Vehicle("HARLEY-DAVIDSON", "FLHX", "FLHX", "MOTORCYC", "1HD", "1.7L  2", "2",
            "", "GAS", ""),
)  # fmt: skip

# The VIN's 10th character encodes the model year (30-year cycle; no I, O, Q, U, Z, 0).
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VEHICLE_TYPES = "VVVVVVVVKKCRLUAMEJ"  # weighted: mostly V (automobile)
COLORS = ("BLACK", "WHITE", "SILVER", "GRAY", "BLUE", "RED", "GREEN", "GOLD", "BROWN")
DAMAGES = (
    "FRONT END", "REAR END", "SIDE", "ALL OVER", "HAIL", "MECHANICAL",
    "WATER/FLOOD", "MINOR DENT/SCRATCHES", "NORMAL WEAR", "ROLLOVER", "VANDALISM",
)  # fmt: skip
TITLE_TYPES = ("SC", "CT", "SV", "DR", "NR", "CL", "ST")
KEYS = ("YES", "YES", "YES", "NO", "EXM")
ODOMETER_BRANDS = ("A", "A", "A", "A", "N", "E", "X")
RUNS_DRIVES = ("Run & Drive Verified", "DEFAULT", "DEFAULT", "Vehicle Starts", "")
SALE_STATUSES = ("Pure Sale", "On Minimum Bid", "On Approval")
TRANSMISSIONS = ("AUTOMATIC", "Automatic", "AUTOMATIC", "MANUAL", "Manual")
LOT_COND_CODES = ("D", "R", "S", "", "CERT-D")
SELLERS = ("STATE FARM INSURANCE", "GEICO", "PROGRESSIVE", "ALLSTATE", "USAA", "")
SPECIAL_NOTES = ("", "SEE NOTES", "MAY NOT START", "CLEAN TITLE REQUESTED", "FLOOD")
ANNOUNCEMENTS = (
    "",
    "",
    "",
    "CERT-DOCUMENTED ODOMETER",
    'Unit has "structural" damage, per seller',
    "AIRBAG(S) DEPLOYED; ENGINE WILL NOT START",
)
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
SALE_TIMES = (1000, 1200, 900, 1100, 1400, 2100, 830)
# A cp1252 seller name: some exports are written in Windows-1252, not UTF-8.
CP1252_SELLER = "DESJARDINS ASSURANCES GÉNÉRALES"
