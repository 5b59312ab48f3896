"""Ingest benchmark: scanner against lemon24/reader on the same generated corpus, side by side.

    python bench/ingest.py                       # 200 feeds x 50 entries, rescan of 1,000 sources
    python bench/ingest.py --feeds 20 --entries 10 --rescan-sources 100   # a quick look

Feeds are served by bench/feedserver.py (a separate process) on loopback hosts 127.0.0.N.
Each engine runs in its own child process so its peak RSS is its own; this process samples the
child's tree from outside, so the sampling costs the engine nothing.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = ("bibliotek läsfrämjande barn unga skolbibliotek tillgänglighet lättläst talböcker "
         "digital delaktighet kommun region biblioteksplan statsbidrag meröppet bokstart "
         "källkritik demokrati yttrandefrihet minoritetsspråk samiska finska statistik "
         "forskning e-böcker upphovsrätt trygghet beredskap hållbarhet kompetens ledarskap "
         "utveckling samverkan läsning litteratur författare programverksamhet").split()


def vocabulary(size: int = 6000) -> tuple[list[str], list[float]]:
    """Library words plus made-up names and terms, drawn with Zipf weights as words in real
    news are: items differ as real items do (a few dozen words would make every item look
    like every other), and common words repeat (every word new would be as unreal)."""
    rng = random.Random(2026)
    letters = "abdefghijklmnoprstuvåäö"
    made_up = ["".join(rng.choices(letters, k=rng.randint(4, 10))) for _ in range(size)]
    words = list(WORDS) + made_up
    return words, [1 / rank for rank in range(1, len(words) + 1)]


VOCABULARY = vocabulary()


def feed_xml(feed_no: int, entries: int, rng: random.Random) -> str:
    start = datetime(2026, 11, 23, tzinfo=timezone.utc)
    items = [_entry_xml(feed_no, n, start - timedelta(hours=n), rng) for n in range(entries)]
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Källa {feed_no}</title><link>https://example{feed_no}.se/</link>"
            f"<language>sv</language>{''.join(items)}</channel></rss>\n")


def _entry_xml(feed_no: int, n: int, when: datetime, rng: random.Random) -> str:
    words, weights = VOCABULARY
    title = " ".join(rng.choices(words, weights, k=6)).capitalize()
    text = " ".join(rng.choices(words, weights, k=60))
    return (f"<item><title>{title} {feed_no}-{n}</title>"
            f"<link>https://example{feed_no}.se/nyheter/{n}?utm_source=rss</link>"
            f"<guid>https://example{feed_no}.se/nyheter/{n}</guid>"
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description>&lt;p&gt;{text} &lt;a href=\"/mer/{n}\"&gt;Läs mer&lt;/a&gt;&lt;/p&gt;"
            "</description></item>")


def write_corpus(folder: Path, feeds: int, entries: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(feeds * 1000 + entries)
    for n in range(feeds):
        (folder / f"feed{n}.xml").write_text(feed_xml(n, entries, rng), encoding="utf-8")


def start_server(folder: Path, hosts: int) -> tuple[subprocess.Popen, list[str]]:
    server = subprocess.Popen([sys.executable, str(HERE / "feedserver.py"), str(folder),
                               str(hosts)], stdout=subprocess.PIPE, text=True)
    bases = []
    for line in server.stdout:
        if line.strip() == "ready":
            return server, bases
        bases.append(line.strip())
    raise RuntimeError("feed server did not start")


def feed_urls(bases: list[str], feeds: int) -> list[str]:
    return [f"{bases[n % len(bases)]}/feed{n}.xml" for n in range(feeds)]


# -- children ----------------------------------------------------------------------------------

def child_scanner(urls: list[str], workdir: Path) -> dict:
    from scanner.core import Scanner
    from scanner.settings import Settings

    write_sources(workdir, urls)
    settings = Settings(config_dir=workdir, database_url=f"sqlite:///{workdir / 'scanner.db'}")
    scanner = Scanner(settings)
    scanner.store  # the archive is created before the clock starts, as make_reader's is
    first = _timed(lambda: scanner.scan(all_sources=True))
    rescan = _timed(lambda: scanner.scan(all_sources=True))
    stored = scanner.store.count_items()
    failed = sum(r.failed for r in rescan[1].results)
    return _figures(first[0], rescan[0], stored, failed)


def train_bootstrap_model(folder: Path) -> None:
    """Train the bootstrap tag model now, in another process, if this machine has not yet:
    scanner trains it once per machine (`scanner demo` does on its first run), which is a cost
    of installing, not of ingesting. The engine still reads it from the cache in its scan."""
    code = ("from datetime import datetime, timezone; from pathlib import Path;"
            "from scanner.settings import Settings;"
            "from scanner.tagging import bootstrap_spec, taxonomy_path;"
            "bootstrap_spec(taxonomy_path(Path('.')), Settings().cache_dir,"
            " datetime.now(timezone.utc))")
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=True)


def compile_scanner() -> None:
    """Byte-compile scanner's modules, as pip does when it installs a package (reader's are, in
    site-packages). With PYTHONDONTWRITEBYTECODE set, as on the development machines, an
    editable install is compiled from source again by every process, the fork server of the
    timed scan included."""
    package = importlib.util.find_spec("scanner").submodule_search_locations[0]
    compileall.compile_dir(package, quiet=1)


def write_sources(workdir: Path, urls: list[str]) -> None:
    lines = ["sources:"] + [f"  - {{id: feed-{n}, name: Källa {n}, url: '{u}'}}"
                            for n, u in enumerate(urls)]
    (workdir / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli_rescan_s(urls: list[str], workdir: Path) -> float:
    """An unchanged rescan as a scheduled job runs it: `scanner scan --all` in a new process
    (imports, sources.yaml, the cycle, the report), after a first one stored everything."""
    write_sources(workdir, urls)
    env = dict(os.environ, SCANNER_CONFIG_DIR=str(workdir),
               SCANNER_DATABASE_URL=f"sqlite:///{workdir / 'scanner.db'}")
    command = [str(Path(sys.executable).parent / "scanner"), "scan", "--all"]
    subprocess.run(command, env=env, capture_output=True, check=True)
    elapsed, done = _timed(lambda: subprocess.run(command, env=env, capture_output=True,
                                                  text=True))
    if done.returncode != 0:
        raise RuntimeError(f"scanner scan failed on the rescan:\n{done.stderr[-3000:]}")
    return elapsed


def child_reader(urls: list[str], workdir: Path) -> dict:
    from reader import make_reader

    reader = make_reader(str(workdir / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url)
    first = _timed(lambda: (reader.update_feeds(workers=16), reader.update_search()))
    rescan = _timed(lambda: (reader.update_feeds(workers=16, scheduled=False),
                             reader.update_search()))
    stored = reader.get_entry_counts().total
    return _figures(first[0], rescan[0], stored, 0)


class TreePeak(threading.Thread):
    """Samples a process and all its descendants (fork server, parse workers) every 50 ms:
    the peak of their summed RSS, the peak of their summed PSS (each shared page split between
    the processes that map them, so the sum is what the tree really holds in memory), and each
    process's CPU seconds as last seen. PSS costs the kernel a walk of every page table, so it
    is read at every tenth sample only (it also used to be read at each new peak of the summed
    RSS, which while the tree grows is nearly every sample: 0.66 s of CPU during scanner's
    5-second run, taken from its two busy cores, now about 0.17 s)."""

    PSS_EVERY = 10

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.peak_mb = self.peak_pss_mb = 0.0
        self.cpu_s: dict[int, float] = {}

    def run(self) -> None:
        for tick in itertools.count():
            tree = _tree(self.root)
            rss = sum(map(_rss_mb, tree))
            if tick % self.PSS_EVERY == 0:
                self.peak_pss_mb = max(self.peak_pss_mb, sum(map(_pss_mb, tree)))
            self.peak_mb = max(self.peak_mb, rss)
            for pid in tree:  # an ended process reads as 0: keep what it last showed
                self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), _cpu_s(pid))
            time.sleep(0.05)


def _tree(root: int) -> list[int]:
    """The process and its descendants, from each one's /proc children list (not a scan of
    every process's stat, which costs the engine a tenth of a core on a 2-core machine)."""
    found, frontier = [], [root]
    while frontier:
        found += frontier
        frontier = [child for pid in frontier for child in _children(pid)]
    return found


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += map(int, task.read_text().split())
        except OSError:
            continue
    return children


def _rss_mb(pid: int) -> float:
    return _kb_field(f"/proc/{pid}/status", "VmRSS:") / 1024


def _pss_mb(pid: int) -> float:
    return _kb_field(f"/proc/{pid}/smaps_rollup", "Pss:") / 1024


def _kb_field(path: str, name: str) -> int:
    """A "<name> <n> kB" line of a /proc file; 0 for a process that has ended."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return 0
    return int(next((l.split()[1] for l in lines if l.startswith(name)), 0))


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _figures(first: float, rescan: float, stored: int, failed: int) -> dict:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"first_s": first, "rescan_s": rescan, "stored": stored, "failed": failed,
            "peak_rss_mb": peak_mb, "main_cpu_s": _cpu_s(os.getpid())}


def run_child(engine: str, urls: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "urls.json").write_text(json.dumps(urls))
        child = subprocess.Popen([sys.executable, __file__, "--child", engine, tmp],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree = TreePeak(child.pid)
        tree.start()
        stdout, stderr = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"{engine} child failed:\n{stderr[-3000:]}")
        return {**json.loads(stdout.strip().splitlines()[-1]), "tree_rss_mb": tree.peak_mb,
                "tree_pss_mb": tree.peak_pss_mb, "tree_cpu_s": sum(tree.cpu_s.values())}


def ingest_results(urls: list[str], with_reader: bool) -> dict:
    """scanner, then reader, then scanner again. This host's speed drifts by as much as a
    third within minutes (reader's first ingest took 20-27 s in one session), so scanner's two
    runs bracket reader's and scanner's figures are their mean (memory: the higher of the two);
    both runs' times are printed."""
    if not with_reader:
        return {"scanner": run_child("scanner", urls)}
    before = run_child("scanner", urls)
    reader = run_child("reader", urls)
    after = run_child("scanner", urls)
    return {"scanner": _bracketing(before, after), "reader": reader}


_HIGHEST = ("peak_rss_mb", "tree_rss_mb", "tree_pss_mb")


def _bracketing(before: dict, after: dict) -> dict:
    mean = {key: (value + after[key]) / 2 for key, value in before.items()
            if isinstance(value, float) and key not in _HIGHEST}
    highest = {key: max(before[key], after[key]) for key in _HIGHEST}
    return {**before, **mean, **highest, "runs_s": (before["first_s"], after["first_s"])}


# -- report ------------------------------------------------------------------------------------

def print_ingest(results: dict, entries_total: int) -> None:
    print(f"\nFirst ingest of {entries_total} entries (fetch + parse + store; reader: "
          "update_feeds + update_search)")
    print(f"{'engine':<10}{'wall s':>10}{'entries/s':>12}{'rescan s':>10}{'stored':>9}"
          f"{'peak RSS MB':>13}{'tree RSS MB':>13}{'tree PSS MB':>13}{'CPU s':>8}"
          f"{'main CPU s':>12}")
    for engine, r in results.items():
        rate = entries_total / r["first_s"]
        print(f"{engine:<10}{r['first_s']:>10.2f}{rate:>12.0f}{r['rescan_s']:>10.2f}"
              f"{r['stored']:>9}{r['peak_rss_mb']:>13.0f}{r['tree_rss_mb']:>13.0f}"
              f"{r['tree_pss_mb']:>13.0f}{r['tree_cpu_s']:>8.1f}{r['main_cpu_s']:>12.1f}")
    print("peak RSS: the engine's own process; tree RSS: summed over it and its workers (pages "
          "they share counted once per process); tree PSS: the same with shared pages split; "
          "CPU s: the tree's CPU time for both scans; main CPU s: the engine process's own")
    if "reader" in results:
        runs = results["scanner"]["runs_s"]
        print(f"scanner's first ingest: {runs[0]:.2f} s before reader, {runs[1]:.2f} s after "
              "(the table shows their mean)")
        ratio = results["reader"]["first_s"] / results["scanner"]["first_s"]
        print(f"scanner/reader first-ingest rate ratio: {ratio:.1f}x (target >= 5x)")


def main() -> None:
    args = _arguments()
    if args.child:
        urls = json.loads((args.workdir / "urls.json").read_text())
        runner = child_scanner if args.child == "scanner" else child_reader
        print(json.dumps(runner(urls, args.workdir)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        _run(args, Path(tmp))


def _run(args, tmp: Path) -> None:
    compile_scanner()
    train_bootstrap_model(tmp)
    write_corpus(tmp / "ingest", args.feeds, args.entries)
    write_corpus(tmp / "rescan", args.rescan_sources, 5)
    server, bases = start_server(tmp / "ingest", args.hosts)
    try:
        urls = feed_urls(bases, args.feeds)
        print_ingest(ingest_results(urls, with_reader=not args.skip_reader),
                     args.feeds * args.entries)
    finally:
        server.terminate()
    server, bases = start_server(tmp / "rescan", args.hosts)
    try:
        urls = feed_urls(bases, args.rescan_sources)
        r = run_child("scanner", urls)
        print(f"\nUnchanged rescan of {args.rescan_sources} sources (all 304): "
              f"{r['rescan_s']:.2f} s (target <= 3 s), failed {r['failed']}, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
        (tmp / "cli").mkdir()
        print(f"The same through `scanner scan --all` in a new process (imports, sources.yaml, "
              f"report included): {cli_rescan_s(urls, tmp / 'cli'):.2f} s")
    finally:
        server.terminate()


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--rescan-sources", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20, help="loopback hosts 127.0.0.1..N")
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--child", choices=["scanner", "reader"])
    parser.add_argument("workdir", nargs="?", type=Path)
    return parser.parse_args()


if __name__ == "__main__":
    main()
