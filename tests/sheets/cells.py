# Reads a spreadsheet the way a merchant's would: converts a CSV with
# headless LibreOffice (soffice --convert-to fods, its default CSV import:
# comma, double quote, UTF-8 from the BOM, formulas evaluated) and prints
# the first sheet as JSON: one list per row of
# {"type": office:value-type, "value": office:value, "formula", "text"}.
# usage: python3 cells.py <file.csv> <scratch dir>
import json, os, subprocess, sys
import xml.etree.ElementTree as ET

src, out = sys.argv[1], sys.argv[2]
subprocess.run(
    ["soffice", "--headless", f"-env:UserInstallation=file://{os.path.abspath(out)}/profile",
     "--convert-to", "fods", "--infilter=CSV:44,34,76,1", "--outdir", out, src],
    check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
fods = os.path.join(out, os.path.splitext(os.path.basename(src))[0] + ".fods")
T = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
O = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
X = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
sheet = next(ET.parse(fods).iter(f"{{{T}}}table"))
rows = []
for row in sheet.iter(f"{{{T}}}table-row"):
    cells = []
    for c in row:
        if c.tag not in (f"{{{T}}}table-cell", f"{{{T}}}covered-table-cell"):
            continue
        cell = {
            "type": c.get(f"{{{O}}}value-type"),
            "value": c.get(f"{{{O}}}value"),
            "formula": c.get(f"{{{T}}}formula"),
            "text": "\n".join("".join(p.itertext()) for p in c.findall(f"{{{X}}}p")),
        }
        cells.extend([cell] * int(c.get(f"{{{T}}}number-columns-repeated", "1")))
    while cells and cells[-1]["type"] is None:
        cells.pop()
    if cells:
        rows.append(cells)
print(json.dumps(rows, ensure_ascii=False))
