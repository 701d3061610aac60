# A SQLite of the migrations for host tests (tests/tests/list_plans.rs):
# applies migrations/*.sql in order to an in-memory database, then answers
# one JSON request per stdin line, {"sql", "params"} -> one JSON line of
# rows (each a list of values) or {"error"}. Python's own sqlite3: every
# machine that runs the tests has it; no native dependency in Cargo.
import glob, json, os, sqlite3, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
db = sqlite3.connect(":memory:")
for path in sorted(glob.glob(os.path.join(root, "migrations", "*.sql"))):
    with open(path, encoding="utf-8") as f:
        db.executescript(f.read())
print(json.dumps({"sqlite": sqlite3.sqlite_version}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        rows = db.execute(req["sql"], req.get("params", [])).fetchall()
        db.commit()
        print(json.dumps([list(r) for r in rows], ensure_ascii=False), flush=True)
    except sqlite3.Error as e:
        print(json.dumps({"error": str(e)}), flush=True)
