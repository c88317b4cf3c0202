"""The header rows of the feed layouts that real files carry (copart-csv.md), in file order.

Ingest never depends on these (it maps columns by name, see ``feed.dialects``); they are the
facts that generators, fixtures and tests build files from, kept in one place.
"""

from __future__ import annotations

MEMBER_2020: tuple[str, ...] = (
    "Id", "Yard number", "Yard name", "Sale Date M/D/CY", "Day of Week", "Sale time (HHMM)",
    "Time Zone", "Item#", "Lot number", "Vehicle Type", "Year", "Make", "Model Group",
    "Model Detail", "Body Style", "Color", "Damage Description", "Secondary Damage",
    "Sale Title State", "Sale Title Type", "Has Keys-Yes or No", "Lot Cond. Code", "VIN",
    "Odometer", "Odometer Brand", "Est. Retail Value", "Repair cost", "Engine", "Drive",
    "Transmission", "Fuel Type", "Cylinders", "Runs/Drives", "Sale Status",
    "High Bid =non-vix,Sealed=Vix", "Special Note", "Location city", "Location state",
    "Location ZIP", "Location country", "Currency Code", "Image Thumbnail", "Create Date/Time",
    "Grid/Row", "Make-an-Offer Eligible", "Buy-It-Now Price", "Image URL", "Trim",
    "Last Updated Time",
)  # fmt: skip
MEMBER_56: tuple[str, ...] = (
    *MEMBER_2020, "Rentals", "Copart Select", "Seller Name", "Offsite Address1",
    "Offsite State", "Offsite City", "Offsite Zip",
)  # fmt: skip
MEMBER_59: tuple[str, ...] = (*MEMBER_56, "Sale Light", "AutoGrade", "Announcements")

CAMEL_61: tuple[str, ...] = (
    "_primaryKey", "_firstSeenAt", "_lastSeenAt", "lotId", "updatedAt", "vin", "yardNumber",
    "yardName", "saleDate", "saleDayOfWeek", "saleTime", "saleTimeZone", "itemNumber",
    "vehicleType", "year", "make", "modelGroup", "modelDetail", "bodyStyle", "exteriorColor",
    "damageDescription", "secondaryDamage", "saleTitleState", "saleTitleType", "hasKeys",
    "lotCondCode", "mileage", "odometerBrand", "estRetailValue", "repairCost", "engine",
    "drivetrain", "transmission", "fuelType", "cylinders", "runsDrives", "saleStatus", "highBid",
    "specialNote", "locationCity", "locationState", "locationZip", "locationCountry",
    "currencyCode", "imageThumbnail", "imageUrl", "gridRow", "makeOfferEligible",
    "buyItNowPrice", "trim", "rentals", "wholesale", "sellerName", "offsiteAddress1",
    "offsiteState", "offsiteCity", "offsiteZip", "saleLight", "autoGrade", "announcements",
    "listingUrl",
)  # fmt: skip
