#!/usr/bin/env python3
"""Writes a synthetic RMD export of about SIZE megabytes (default 50) to standard output, for
measuring the import's memory: fictional filings, every fifth naming the previous filing's FRN
among its other FRNs (affiliates), some with a multi-line address, space-separated FRNs, free
text in other_frns, DBA names with corporate suffixes and blank foreign flags.

    python3 crates/tracehop/tests/tools/synthetic_rmd.py 50 > /tmp/rmd-50mb.csv
    /usr/bin/time -v tracehop import rmd /tmp/rmd-50mb.csv --database-url sqlite:///tmp/rmd.db
"""

import sys

COLUMNS = [
    "number", "frn", "business_name", "business_address", "foreign_voice_provider", "country",
    "other_frns", "other_dba_names", "previous_dba_names", "robocall_mitigation_contact_name",
    "contact_title", "contact_department", "contact_business_address", "contact_country",
    "contact_telephone_number", "contact_phone_extension", "implementation",
    "voice_service_provider_choice", "gateway_provider_choice", "intermediate_provider_choice",
    "last_updated", "filing_url",
]


def row(i):
    frn = f"{i + 40000000:010d}"
    others = ""
    if i % 5 == 1:
        others = f"{i - 1 + 40000000:010d}"
    elif i % 7 == 0:
        others = f"{i + 90000000:010d} {i + 91000000:010d}"
    elif i % 11 == 0:
        others = "see list in attached RMP"
    address = f'"{i} Example Rd\nSuite {i % 400}\nSpringfield IL 62701"' if i % 13 == 0 else f"{i} Example Rd Springfield IL 62701"
    foreign = "" if i % 17 == 0 else "No"
    return ",".join([
        f"RMD{i:07d}", frn, f'"Example Voice {i}, LLC"', address, foreign, "United States of America",
        others, f'"EV{i} Telecom, Inc.; EV{i} Cable"', "", f"Pat Example {i}", "Network Manager", "Operations",
        address, "United States of America", f"(217) 555-01{i % 100:02d}", "", "Complete STIR/SHAKEN Implementation",
        "Yes", "No", "No", f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        f"https://example.invalid/rmd?id=rmd_form&sys_id={i:032x}",
    ])


def main():
    target = float(sys.argv[1] if len(sys.argv) > 1 else 50) * 1024 * 1024
    out = sys.stdout
    written = out.write(",".join(COLUMNS) + "\r\n")
    i = 1
    while written < target:
        written += out.write(row(i) + "\r\n")
        i += 1


if __name__ == "__main__":
    main()
