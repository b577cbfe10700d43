"""Benchmark: importing DMS sales and service exports, against raw COPY and against splink, scored on ground truth.

    .venv/bin/python bench/import_customers.py [--rows 100000] [--seed 7] [--no-splink] [--import-timeout S]

Generates a sales export (one row per car sold) and a service export (one row per repair order)
of a Russian dealer group with Russian and Chinese customers, ``--rows`` rows in the two together,
streamed to files a block of people at a time (``dms_noise.py``: every kind of noise of the issue,
each counted, and the true person of every row in ``truth.csv``). Files over 45 MB are split in
parts, as a dealer would split them for the upload limit.

Each stage runs in a process of its own, so that the peak memory of each is its own:

1. ``setup``: a fresh database ``dealercrm_bench_import`` (dropped at the end), ``migrate_all``
   and a tenant.
2. ``import``: ``COPY`` of every file into bare text tables (the floor), then the product's import
   path on every file (``job_create`` then ``job_run``, the body of the Celery task), sales first;
   then, outside the timing, which customer record every row went to, the review queue and the
   import problems (``ImportProblem``, by ``severity`` when the model has one).
   Then, untimed, the write floor: every row of the tables the import grew, loaded by ``COPY`` into an empty copy
   of the group's schema (``write_floor``).
3. ``splink`` (``splink_peer.py``): splink with DuckDB on the same files, trained in the run (u by
   random sampling, m by EM on blocking rules), clustered at match probability 0.999 and 0.5.
4. Scoring here: pairwise precision, recall and F1 over rows against the truth.

The last line is one JSON object; ``bench/README.md`` says what every key means.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
# Another name (BENCH_DATABASE=...) lets two runs share a server, e.g. a change and its baseline side by side.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "dealercrm_bench_import")
SCHEMA_SLUG = "bench-import"
sys.path.insert(0, str(BENCH_DIR))

import dms_noise  # noqa: E402 - the generator lives beside this script


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def files_in_order(meta: dict[str, object]) -> list[str]:
    """The files in the order they are imported (sales parts, then service parts): the row order
    of the whole run, which the splink peer and the scoring use too."""
    return [*meta["sales_files"], *meta["service_files"]]


# Stages run in child processes ---------------------------------------------------------------------------


def django_ready() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # as the worker runs: no log of every query in memory
    os.environ.setdefault("MEDIA_ROOT", str(BASE_DIR / ".data" / "media-bench"))
    import django

    django.setup()


def stage_setup(workdir: Path, seed: int) -> dict[str, object]:
    """The schemas and one dealer group, as a new Russian group would have them."""
    django_ready()
    from django.core.management import call_command

    from tenants.services import dealer_group_create

    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Avto", slug=SCHEMA_SLUG, country="RU", default_language="ru",
                                timezone="Europe/Moscow", currency="RUB", admin_email="admin@bench.example",
                                admin_password="Bench-not-a-secret-" + str(seed)).dealer_group
    return {"schema": group.schema_name}


def copy_files(workdir: Path, names: list[str]) -> float:
    """Seconds to COPY the files into bare text tables: the floor for loading these bytes."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for index, name in enumerate(names):
            with (workdir / name).open("rb") as handle:
                width = len(handle.readline().decode("utf-8").split(";"))
                handle.seek(0)
                columns = ", ".join(f"c{i} text" for i in range(width))
                cursor.execute(f"CREATE UNLOGGED TABLE bench_copy_{index} ({columns})")
                with cursor.copy(f"COPY bench_copy_{index} FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true, "
                                 "ENCODING 'UTF8')") as copy:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
    return time.perf_counter() - started


def table_counts(schema: str) -> dict[str, int]:
    """Rows in every table of ``schema``."""
    from django.db import connection
    from psycopg import sql

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])
        tables = [name for (name,) in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
    return counts


def write_floor(schema: str, grown: list[str]) -> dict[str, object]:
    """The least any import of these files can take to write what this one wrote: every row of the tables the import
    grew, already in memory as ``COPY`` text, loaded by ``COPY`` into an empty copy of the group's schema (the same
    indexes, constraints and foreign keys), a transaction per table, in foreign-key order. No parsing, no look-ups,
    no identity resolution, no Python per row: the database's own price for the rows the data model asks for."""
    from django.db import connection
    from psycopg import errors, sql

    floor = "bench_write_floor"
    raw = connection.connection  # psycopg; Django's connection is in autocommit between statements
    quoted = sql.Identifier
    raw.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(quoted(floor)))
    raw.execute("SELECT public.clone_schema(%s, %s, 'NODATA')", [schema, floor])
    everything = [name for (name,) in raw.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                                   [schema]).fetchall() if not name.startswith("bench_copy")]
    timed: dict[str, tuple[int, float]] = {}

    def load(tables: list[str], clock: bool) -> None:
        data = {}
        for table in tables:
            buffer = bytearray()
            with raw.cursor().copy(sql.SQL("COPY {}.{} TO STDOUT").format(quoted(schema), quoted(table))) as copy:
                for block in copy:
                    buffer += block
            data[table] = bytes(buffer)
        pending = list(tables)
        while pending:
            done = []
            for table in pending:
                try:
                    with raw.transaction():
                        started = time.perf_counter()
                        with raw.cursor().copy(sql.SQL("COPY {}.{} FROM STDIN").format(quoted(floor),
                                                                                       quoted(table))) as copy:
                            copy.write(data[table])
                        seconds = time.perf_counter() - started
                except errors.ForeignKeyViolation:
                    continue  # a table it refers to is not loaded yet: next round
                done.append(table)
                if clock:
                    timed[table] = (data[table].count(b"\n"), seconds)
            if not done:
                raise RuntimeError(f"write floor: foreign keys never satisfied for {pending}")
            pending = [table for table in pending if table not in done]

    load([table for table in everything if table not in grown], clock=False)  # what the rows refer to, untimed
    load(grown, clock=True)
    raw.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(quoted(floor)))
    seconds = sum(seconds for _rows, seconds in timed.values())
    return {"write_floor_s": round(seconds, 2), "rows_written": sum(rows for rows, _seconds in timed.values()),
            "tables_written": {table: {"rows": rows, "s": round(seconds, 3)}
                               for table, (rows, seconds) in sorted(timed.items(), key=lambda item: -item[1][1])}}


def lineage_model() -> tuple[object, str, str, str | None] | None:
    """A model that records, per imported line, the job, the line number and the customer, if the
    product has one (issue 20, "lineage"): (model, line field, person field, company field)."""
    from django.apps import apps
    from django.db import models

    from crm.customers.models import ImportJob, Person

    for model in apps.get_app_config("customers").get_models():
        fields = {f.name: f for f in model._meta.get_fields() if getattr(f, "concrete", False)}
        job = [name for name, f in fields.items() if isinstance(f, models.ForeignKey) and f.related_model is ImportJob]
        line = [name for name, f in fields.items()
                if isinstance(f, models.IntegerField) and not f.primary_key and name in ("line", "line_number",
                                                                                          "row_number", "lineno")]
        person = [name for name, f in fields.items()
                  if isinstance(f, models.ForeignKey) and f.related_model is Person]
        if job and line and person:
            company = next((name for name, f in fields.items()
                            if isinstance(f, models.ForeignKey) and f.related_model.__name__ == "Company"), None)
            return model, job[0], line[0], person[0], company
    return None


def rows_to_records(job: object, path: Path) -> tuple[list[int], list[int], str]:
    """(line numbers, customer record of each, the method used) for the data rows of one file.
    Records are person ids, companies as negative ids, 0 when the row went nowhere."""
    from crm.customers.models import ImportedRow, Person

    found = lineage_model()
    lines, records = [], []
    if found:
        model, job_field, line_field, person_field, company_field = found
        values = [line_field, f"{person_field}_id"] + ([f"{company_field}_id"] if company_field else [])
        by_line = {}
        for row in model.objects.filter(**{job_field: job}).values_list(*values).iterator(chunk_size=20_000):
            by_line[row[0]] = row[1] or (-row[2] if len(row) > 2 and row[2] else 0)
        method = f"lineage ({model.__name__}.{line_field})"
    else:  # Before lineage: re-read the file with the job's parser and look its rows up by fingerprint.
        from crm.customers.importing.files import table_open
        from crm.customers.importing.pipeline import job_parser

        table = table_open(job.original_name, path.read_bytes(), encoding=job.encoding, language="ru")
        parser = job_parser(job, table.header)
        imported = {fingerprint: person or -(company or 0) for fingerprint, person, company in
                    ImportedRow.objects.filter(job=job).values_list("fingerprint", "person_id", "company_id")
                    .iterator(chunk_size=20_000)}
        by_line = {}
        for row in table.rows:
            parsed, _problems = parser.parse(row.line, row.values)
            if parsed is not None:
                by_line[row.line] = imported.get(parsed.fingerprint, 0)
        method = "fingerprint (ImportedRow.fingerprint, file parsed again)"
    survivors = dict(Person.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into_id"))
    with path.open(encoding="utf-8", newline="") as handle:
        total = sum(1 for _row in csv.reader(handle, delimiter=";")) - 1
    for line in range(2, total + 2):
        record = by_line.get(line, 0)
        while record in survivors:
            record = survivors[record]
        lines.append(line)
        records.append(record)
    return lines, records, method


def problems_summary(job: object) -> dict[str, object]:
    """The import's problems by severity (every problem is a rejected row when the model has no
    ``severity``), with the number of distinct lines each concerns."""
    from django.db.models import Count

    from crm.customers.models import ImportProblem

    has_severity = any(f.name == "severity" for f in ImportProblem._meta.get_fields())
    problems = ImportProblem.objects.filter(job=job)
    if has_severity:
        by = {severity or "": {"problems": n, "lines": lines} for severity, n, lines in
              problems.values_list("severity").annotate(n=Count("pk"), lines=Count("line", distinct=True))
              .values_list("severity", "n", "lines")}
    else:
        by = {"(no severity: rejected)": {"problems": problems.count(),
                                          "lines": problems.values("line").distinct().count()}}
    return {"has_severity": has_severity, "by_severity": by}


def warned_lines(job: object) -> set[int]:
    from crm.customers.models import ImportProblem

    return set(ImportProblem.objects.filter(job=job).values_list("line", flat=True))


def stage_import(workdir: Path, profile: bool) -> dict[str, object]:
    """COPY, then the product's import of every file; then, untimed, where every row went."""
    django_ready()
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User
    from crm.customers.importing.jobs import job_create
    from crm.customers.importing.pipeline import job_run
    from crm.customers.models import DuplicateCandidate, Person

    meta = json.loads((workdir / "meta.json").read_text())
    names = files_in_order(meta)
    out: dict[str, object] = {"load_before": load()}
    with schema_context(meta["schema"]):
        copy_s = copy_files(workdir, names)
        print(f"COPY of {len(names)} files into text tables   {copy_s:7.2f} s", flush=True)
        admin = User.objects.get()
        before = table_counts(meta["schema"])
        jobs, import_s = [], 0.0
        (workdir / "import_started").write_text(str(time.time()))
        for name in names:
            kind = "sales" if name.startswith("sales") else "service"
            started = time.perf_counter()
            job = job_create(by=admin, name=name, data=(workdir / name).read_bytes(), kind=kind)
            if profile:
                import cProfile
                import pstats

                with cProfile.Profile() as profiler:
                    job_run(job)
                for order, lines in (("tottime", 30), ("cumulative", 60)):
                    pstats.Stats(profiler).sort_stats(order).print_stats(lines)
                profiler.dump_stats(workdir / f"{name}.prof")  # for pstats' callers and callees
            else:
                job_run(job)
            seconds = time.perf_counter() - started
            import_s += seconds
            job.refresh_from_db()
            if job.status != "done":
                raise RuntimeError(f"{name}: {job.status} {job.message}")
            jobs.append((name, job, seconds))
            print(f"import {name:<14} {seconds:8.2f} s  {job.counts}  peak RSS {peak_rss_mb()} MB", flush=True)
        out.update(copy_s=round(copy_s, 3), import_s=round(import_s, 2), import_peak_rss_mb=peak_rss_mb(),
                   load_after_import=load())
        # Untimed: where every row went, the review queue, the problems.
        methods = set()
        with (workdir / "records.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "record", "problem"])
            for name, job, _seconds in jobs:
                lines, records, method = rows_to_records(job, workdir / name)
                methods.add(method)
                flagged = warned_lines(job)
                writer.writerows([name, line, record, int(line in flagged)]
                                 for line, record in zip(lines, records, strict=True))
        with (workdir / "review.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerows(DuplicateCandidate.objects.filter(status="open").values_list("person_a_id", "person_b_id")
                             .iterator(chunk_size=20_000))
        out.update(
            record_method=sorted(methods),
            files={name: {"seconds": round(seconds, 2), "counts": job.counts, "problems": problems_summary(job)}
                   for name, job, seconds in jobs},
            customers_after_import=Person.objects.filter(merged_into__isnull=True).count(),
        )
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            out["postgres"] = cursor.fetchone()[0]
        after = table_counts(meta["schema"])
        grown = [table for table, count in after.items()
                 if count > before.get(table, 0) and not table.startswith("bench_copy")]
        out.update(write_floor(meta["schema"], grown))
        print(f"write floor: {out['rows_written']} rows into {len(grown)} tables by COPY {out['write_floor_s']:7.2f} s",
              flush=True)
    return out


# Scoring ----------------------------------------------------------------------------------------------------


def truth_read(workdir: Path, names: list[str]) -> tuple[array, dict[str, int], Counter[str], dict[str, array]]:
    """The true person of every row in run order (junk lines get distinct negative ids), each
    file's first row index, and the rows of each noise tag (by index, for recall per noise)."""
    per_file: dict[str, array] = {name: array("q") for name in names}
    tags_rows: dict[str, dict[str, array]] = {}
    with (workdir / "truth.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for name, line, person, noise in reader:
            rows = per_file[name]
            index = int(line) - 2
            while len(rows) <= index:
                rows.append(0)
            rows[index] = int(person)
            for tag in noise.split():
                tags_rows.setdefault(tag, {}).setdefault(name, array("q")).append(index)
    truth, offsets, junk = array("q"), {}, 0
    for name in names:
        offsets[name] = len(truth)
        for person in per_file[name]:
            if person < 0:
                junk += 1
                person = -junk
            truth.append(person)
    by_tag = {tag: array("q", (offsets[name] + index for name, indexes in files.items() for index in indexes))
              for tag, files in tags_rows.items()}
    return truth, offsets, Counter({"junk": junk}), by_tag


def pairs(counts: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def prf(hits: int, found: int, true: int) -> dict[str, float]:
    precision = hits / found if found else 1.0
    recall = hits / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def score(records: array, truth: array, review: list[tuple[int, int]] = (),
          by_tag: dict[str, array] | None = None) -> dict[str, object]:
    """Pairwise precision / recall / F1 over rows. Two rows are found to be one person when they
    went to one record (``auto``), or, counting the review queue too, to two records it pairs.
    True pairs are counted over every row of a true person, rejected rows included (a rejected
    row's pairs are missed pairs); a junk line is a person of its own."""
    true_counts = Counter(person for person in truth if person >= 0)
    true_pairs = pairs(true_counts)
    kept = Counter((record, person) for record, person in zip(records, truth, strict=True) if record)
    per_record = Counter()
    by_record: dict[int, Counter[int]] = {}
    for (record, person), n in kept.items():
        per_record[record] += n
        by_record.setdefault(record, Counter())[person] = n
    auto_found = pairs(per_record)
    auto_hits = sum(n * (n - 1) // 2 for (_record, person), n in kept.items() if person >= 0)
    review_found = review_hits = 0
    for a, b in review:
        review_found += per_record.get(a, 0) * per_record.get(b, 0)
        left, right = by_record.get(a, Counter()), by_record.get(b, Counter())
        review_hits += sum(n * right.get(person, 0) for person, n in left.items() if person >= 0)
    result = {
        "auto": prf(auto_hits, auto_found, true_pairs),
        "with_review": prf(auto_hits + review_hits, auto_found + review_found, true_pairs),
        "true_pairs": true_pairs, "auto_pairs": auto_found, "review_pairs": review_found,
    }
    if by_tag:
        result["recall_auto_by_noise"] = recall_by_tag(records, truth, by_tag)
    return result


def recall_by_tag(records: array, truth: array, by_tag: dict[str, array]) -> dict[str, float]:
    """For each kind of noise: of the rows carrying it, the share whose true person's other rows
    they joined (pairs of a noisy row with the same person's rows, found / true)."""
    per_person: dict[int, Counter[int]] = {}
    for record, person in zip(records, truth, strict=True):
        if person >= 0:
            per_person.setdefault(person, Counter())[record] += 1
    result = {}
    for tag, rows in sorted(by_tag.items()):
        if tag.startswith(("people_", "junk")):
            continue
        true = found = 0
        for index in rows:
            person = truth[index]
            if person < 0:
                continue
            counts = per_person[person]
            true += sum(counts.values()) - 1
            if records[index]:
                found += counts[records[index]] - 1
        if true:
            result[tag] = round(found / true, 3)
    return result


def lost_people(records: array, truth: array) -> int:
    """True people none of whose rows went into any record."""
    kept, seen = set(), set()
    for record, person in zip(records, truth, strict=True):
        if person >= 0:
            seen.add(person)
            if record:
                kept.add(person)
    return len(seen - kept)


def records_read(workdir: Path, names: list[str], offsets: dict[str, int], rows: int) -> tuple[array, array]:
    records, flagged = array("q", bytes(8 * rows)), array("b", bytes(rows))
    with (workdir / "records.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for name, line, record, problem in reader:
            index = offsets[name] + int(line) - 2
            records[index], flagged[index] = int(record), int(problem)
    return records, flagged


# Orchestration ----------------------------------------------------------------------------------------------


def peak_rss_of(pid: int) -> float | None:
    """Another process's peak resident memory so far (``VmHWM``), in MB, on Linux."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), "")
    return round(int(line.split()[1]) / 1024, 1) if line else None


STOPPED_RSS: dict[str, float | None] = {}


def child(args: list[str], env: dict[str, str], timeout: float | None = None,
          python: str | None = None) -> tuple[dict[str, object] | None, float]:
    """Run a stage in its own process, echo its output, return its final JSON line and seconds.
    Past ``timeout`` the stage is killed (its peak memory noted in ``STOPPED_RSS``) and None returned."""
    started = time.perf_counter()
    process = subprocess.Popen([python or sys.executable, *args], env=env, stdout=subprocess.PIPE, text=True,
                               cwd=BASE_DIR)
    last = ""
    deadline = time.monotonic() + timeout if timeout else None
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while True:
        if deadline and time.monotonic() > deadline:
            STOPPED_RSS[args[0]] = peak_rss_of(process.pid)
            process.kill()
            process.wait()
            return None, time.perf_counter() - started
        if selector.select(timeout=1.0):
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                last = line
            else:
                print("  " + line.rstrip(), flush=True)
    if process.wait() != 0:
        raise SystemExit(f"stage {args[1:3]} failed with exit code {process.returncode}")
    return (json.loads(last) if last else {}), time.perf_counter() - started


def database_urls() -> tuple[str, str, object | None]:
    sys.path.insert(0, str(BASE_DIR))
    from config.devstack import database_ensure

    env = dict(os.environ)
    handle = database_ensure(env)
    server_url = env["DATABASE_URL"]
    parts = urlsplit(server_url)
    if parts.path.lstrip("/") == BENCH_DATABASE:
        raise SystemExit(f"DATABASE_URL already names {BENCH_DATABASE!r}: point it at another database.")
    return server_url, urlunsplit(parts._replace(path="/" + BENCH_DATABASE)), handle


def database_recreate(server_url: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    name = sql.Identifier(BENCH_DATABASE)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def import_progress(bench_url: str, schema: str) -> int:
    """Rows the import had processed when it was stopped (committed chunks)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(bench_url) as conn:
        row = conn.execute(sql.SQL("SELECT coalesce(sum(processed_rows), 0) FROM {}.customers_importjob")
                           .format(sql.Identifier(schema))).fetchone()
    return int(row[0])


def splink_python() -> str:
    """The interpreter with splink: $BENCH_PYTHON, else .venv-bench beside .venv, else this one."""
    if os.environ.get("BENCH_PYTHON"):
        return os.environ["BENCH_PYTHON"]
    separate = BASE_DIR / ".venv-bench" / "bin" / "python"
    return str(separate) if separate.exists() else sys.executable


def run(args: argparse.Namespace, workdir: Path, server_url: str, bench_url: str) -> dict[str, object]:
    started = time.perf_counter()
    meta = dms_noise.files_write(workdir, args.rows, args.seed)
    generate_s = time.perf_counter() - started
    names = files_in_order(meta)
    rows = meta["sales_rows"] + meta["service_rows"]
    print(f"generated {meta['people']} people, {meta['sales_rows']} sales + {meta['service_rows']} service rows "
          f"in {len(names)} files ({meta['bytes'] / 1e6:.1f} MB) in {generate_s:.1f} s, peak RSS {peak_rss_mb()} MB",
          flush=True)
    result: dict[str, object] = {"rows": rows, "files": names, "generate_s": round(generate_s, 1),
                                 "generate_peak_rss_mb": peak_rss_mb(), "load_start": load()}
    env = {**os.environ, "DATABASE_URL": bench_url}
    script = str(Path(__file__).resolve())

    splink_out = None
    if not args.no_splink and args.splink_first:
        splink_out = splink_stage(args, workdir, names, env)

    setup, setup_s = child([script, "--stage", "setup", "--workdir", str(workdir), "--seed", str(args.seed)], env)
    print(f"setup (migrate_all, tenant) {setup_s:.1f} s", flush=True)
    meta["schema"] = setup["schema"]
    (workdir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
    imported, wall_s = child([script, "--stage", "import", "--workdir", str(workdir)]
                             + (["--profile"] if args.profile else []), env, timeout=args.import_timeout)
    if imported is None:
        since = float((workdir / "import_started").read_text()) if (workdir / "import_started").exists() else None
        done = import_progress(bench_url, meta["schema"])
        elapsed = time.time() - since if since else wall_s
        per_s = done / elapsed if elapsed else 0
        result["product"] = {"stopped_after_s": round(elapsed), "rows_done": done, "rows_per_s": round(per_s),
                             "import_peak_rss_mb": STOPPED_RSS.get(script),
                             "projected_s": round(rows / per_s) if per_s else None, "load_when_stopped": load()}
        print(f"import stopped after {elapsed:.0f} s: {done} rows done, {per_s:.0f} rows/s, "
              f"{rows / per_s / 60 if per_s else float('inf'):.0f} min projected for {rows} rows", flush=True)
    else:
        result.update(product_score(workdir, names, rows, imported, meta))
    if not args.no_splink and not args.splink_first:
        splink_out = splink_stage(args, workdir, names, env)
    if splink_out is not None:
        result["splink"] = splink_out
    result.update(noise=meta["noise"], people=meta["people"], junk_rows=meta["junk_rows"],
                  cpu_count=os.cpu_count(), load_end=load())
    return result


def per_kind(files: dict[str, dict[str, object]], kind: str) -> dict[str, object]:
    """Seconds and job counts of one kind of file, all its parts together (the keys of old runs)."""
    parts = [summary for name, summary in files.items() if name.startswith(kind)]
    counts: Counter[str] = Counter()
    for summary in parts:
        counts.update({key: int(value) for key, value in summary["counts"].items()})
    return {"seconds": round(sum(summary["seconds"] for summary in parts), 2), "counts": dict(counts)}


def product_score(workdir: Path, names: list[str], rows: int, imported: dict[str, object],
                  meta: dict[str, object]) -> dict[str, object]:
    truth, offsets, _junk, by_tag = truth_read(workdir, names)
    records, flagged = records_read(workdir, names, offsets, rows)
    with (workdir / "review.csv").open(newline="") as handle:
        review = [(int(a), int(b)) for a, b in csv.reader(handle)]
    quality = score(records, truth, review, by_tag)
    rejected = sum(1 for record in records if not record)
    rejected_junk = sum(1 for record, person in zip(records, truth, strict=True) if not record and person < 0)
    kept_with_problem = sum(1 for record, problem in zip(records, flagged, strict=True) if record and problem)
    rows_per_s = rows / imported["import_s"]
    copy_rows_per_s = rows / imported["copy_s"]
    return {
        "rows_per_s": round(rows_per_s),
        "copy_rows_per_s": round(copy_rows_per_s),
        "ratio": round(copy_rows_per_s / rows_per_s, 1),
        "import_s": imported["import_s"],
        "write_floor_rows_per_s": round(rows / imported["write_floor_s"]) if imported.get("write_floor_s") else None,
        "floor_ratio": round(imported["import_s"] / imported["write_floor_s"], 1) if imported.get("write_floor_s")
        else None,
        "rows_written": imported.get("rows_written"), "write_floor_tables": imported.get("tables_written"),
        "import_peak_rss_mb": imported["import_peak_rss_mb"],
        "precision_auto": quality["auto"]["precision"], "recall_auto": quality["auto"]["recall"],
        "f1_auto": quality["auto"]["f1"],
        "precision": quality["with_review"]["precision"], "recall": quality["with_review"]["recall"],
        "f1": quality["with_review"]["f1"],
        "rows_rejected": rejected, "rows_rejected_junk": rejected_junk,
        "rows_rejected_true": rejected - rejected_junk,
        "rows_kept_with_warning": kept_with_problem,
        "customers_lost": lost_people(records, truth),
        "true_people": len({person for person in truth if person >= 0}),
        "customers_after_import": imported["customers_after_import"],
        "review_pairs": len(review),
        "pairs": {"true": quality["true_pairs"], "found_auto": quality["auto_pairs"],
                  "found_review": quality["review_pairs"]},
        "rows_rejected_by_job_counts": sum(int(f["counts"].get("rejected", 0)) for f in imported["files"].values()),
        **{kind: per_kind(imported["files"], kind) for kind in ("sales", "service")},
        "recall_auto_by_noise": quality["recall_auto_by_noise"],
        "record_method": imported["record_method"],
        "import_files": imported["files"],
        "load_during_import": [imported["load_before"], imported["load_after_import"]],
        "postgres": imported["postgres"],
    }


def splink_stage(args: argparse.Namespace, workdir: Path, names: list[str],
                 env: dict[str, str]) -> dict[str, object]:
    python = splink_python()
    out, _seconds = child([str(BENCH_DIR / "splink_peer.py"), "--workdir", str(workdir), "--seed", str(args.seed),
                           *names], env, timeout=args.splink_timeout, python=python)
    if out is None:
        return {"stopped_after_s": args.splink_timeout}
    truth, _offsets, _junk, by_tag = truth_read(workdir, names)
    rows = len(truth)
    result = {key: out[key] for key in ("rows_per_s", "seconds", "train_s", "predict_s", "cluster_s", "prep_s",
                                         "peak_rss_mb", "version", "duckdb", "load") if key in out}
    for threshold in ("0.999", "0.5"):
        records = array("q", bytes(8 * rows))
        with (workdir / f"splink_{threshold}.csv").open(newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for unique_id, cluster in reader:
                records[int(unique_id)] = int(cluster) + 1
        quality = score(records, truth, by_tag=by_tag if threshold == "0.999" else None)
        result[f"p{threshold}"] = {**quality["auto"], "pairs_found": quality["auto_pairs"]}
        if threshold == "0.999":
            result["recall_by_noise_0.999"] = quality["recall_auto_by_noise"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in both files together (default 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print where the import spends its time")
    parser.add_argument("--no-splink", action="store_true", help="skip the splink comparison")
    parser.add_argument("--splink-first", action="store_true", help="run splink before the product's import")
    parser.add_argument("--import-timeout", type=float, default=None,
                        help="stop the product's import after this many seconds and report a projection")
    parser.add_argument("--splink-timeout", type=float, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="write the files here and keep them")
    parser.add_argument("--stage", choices=["setup", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage:
        result = (stage_setup(args.workdir, args.seed) if args.stage == "setup"
                  else stage_import(args.workdir, args.profile))
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return 0

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    server_url, bench_url, handle = database_urls()
    database_recreate(server_url, create=True)
    try:
        result = run(args, workdir, server_url, bench_url)
    finally:
        database_recreate(server_url, create=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        del handle
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
