"""Check a demo run's results.json: every PLADA payload round-tripped exactly and every student of the
energy rules (vanilla, Safety-Net, auto) beats chance on the test split.  Exit 1 with the reason if not.

    python scripts/check_demo.py results/results.json
"""
import json
import sys


def main(path: str) -> int:
    with open(path) as f:
        result = json.load(f)
    chance = {t["task"]: t["chance"] for t in result["tasks"]}
    problems, checked = [], 0
    for r in result["rows"]:
        if r["method"] not in ("vanilla", "safety-net", "auto"):
            continue
        checked += 1
        where = f"{r['task']} {r['method']} {r['budget']:.2%}"
        if r.get("round_trip") != "exact":
            problems.append(f"{where}: round trip {r.get('round_trip')!r}")
        if r["test_acc"] is None or r["test_acc"] <= chance[r["task"]]:
            problems.append(f"{where}: test accuracy {r['test_acc']} does not beat chance {chance[r['task']]:.3f}")
    if not checked:
        problems.append("no PLADA rows in the results")
    for p in problems:
        print(f"demo check failed: {p}", file=sys.stderr)
    if not problems:
        print(f"demo check passed: {checked} PLADA students, exact round trips, all above chance")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
