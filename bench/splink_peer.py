"""The comparison column of ``import_customers.py``: splink (DuckDB backend) on the same DMS files.

    python bench/splink_peer.py --workdir DIR [--seed 7] FILE [FILE ...]

Reads the files in the order given (row ``i`` of the run is ``unique_id`` ``i``), prepares the
columns a splink user would (names folded through the transliterations into one Latin key, phones
to digits with their country code, VINs with O/I/Q read as 0/1/0, the DMS customer number), trains
a Fellegi–Sunter model on the data itself (u by random sampling, the prior from two deterministic rules, m by EM on four
blocking rules), predicts, and clusters the pairs at match probability 0.999 and 0.5. Writes
``splink_0.999.csv`` and ``splink_0.5.csv`` (``unique_id,cluster``) to DIR and prints one JSON line
with the timings and the peak memory. Everything from reading the files to the clusters is timed.

Runs with the interpreter that has splink (see ``requirements/bench.txt``); imports nothing of the
project, so it can run from a separate virtualenv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import sys
import time
import unicodedata
from datetime import date
from pathlib import Path

CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
                     "t", "u", "f", "h", "c", "ch", "sh", "sh", "", "i", "", "e", "iu", "ia"], strict=True))
# Fold every transliteration of Russian onto one spelling: the order matters (longest first).
FOLDS = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"[`'\"]", ""), (r"shch|shh|sch", "sh"), (r"kh|x", "h"), (r"cz|ts|tz", "c"), (r"[jy]", "i"),
    (r"io", "e"), (r"ie", "e"), (r"i+", "i"), (r"w", "v"),
)]
PATRONYMIC = re.compile(r"(ovich|evich|ovna|evna|ichna|inichna|ogli|kizi)$")
HAN = re.compile(r"[\u4e00-\u9fff]")


def fold(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.lower())
    word = "".join(char for char in word if not unicodedata.combining(char))
    word = "".join(CYRILLIC.get(char, char) for char in word)
    for pattern, replacement in FOLDS:
        word = pattern.sub(replacement, word)
    return re.sub(r"[^a-z]", "", word)


def name_features(raw: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(sorted folded tokens, sorted letters, first token, second token) of a name in any script."""
    text = (raw or "").strip()
    if not text or text.lower().startswith("итого"):
        return None, None, None, None
    if HAN.search(text):
        from pypinyin import lazy_pinyin

        han = text.replace(" ", "")
        tokens = [fold("".join(lazy_pinyin(han[:1]))), fold("".join(lazy_pinyin(han[1:])))]
    else:
        tokens = [fold(word) for word in text.split()]
    tokens = [token for token in tokens if token]
    if len(tokens) >= 3:
        tokens = [token for token in tokens if not PATRONYMIC.search(token)] or tokens
    if not tokens:
        return None, None, None, None
    tokens.sort()
    letters = "".join(sorted("".join(tokens)))
    return " ".join(tokens), letters, tokens[0], tokens[1] if len(tokens) > 1 else None


def phone_key(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "8" and digits[1] != "6":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    elif len(digits) == 11 and digits[0] == "1":
        digits = "86" + digits
    if (len(digits) == 11 and digits[0] == "7") or (len(digits) == 13 and digits.startswith("861")):
        return digits
    return None


def vin_key(raw: str) -> str | None:
    vin = re.sub(r"[^A-Z0-9]", "", (raw or "").upper()).translate(str.maketrans("OIQ", "010"))
    return vin if len(vin) == 17 else None


def date_key(raw: str) -> str | None:
    try:
        day, month, year = (int(part) for part in (raw or "").split("."))
        return date(year, month, day).isoformat() if 1900 < year < 2030 else None
    except ValueError:
        return None


def prepare(workdir: Path, names: list[str]) -> dict[str, list]:
    columns: dict[str, list] = {key: [] for key in ("unique_id", "name_sorted", "name_letters", "tok1", "tok2",
                                                    "phone", "email", "birth_date", "vin", "vin_core",
                                                    "customer_number")}
    uid = 0
    for name in names:
        with (workdir / name).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=";")
            header = next(reader)
            sales = "ФИО" in header
            at = {column: header.index(column) for column in header}
            for row in reader:
                person = row[at["ФИО" if sales else "Клиент"]]
                name_sorted, letters, tok1, tok2 = name_features(person)
                vin = vin_key(row[at["VIN"]])
                email = row[at["E-mail"]].strip().lower() if sales else ""
                columns["unique_id"].append(uid)
                columns["name_sorted"].append(name_sorted)
                columns["name_letters"].append(letters)
                columns["tok1"].append(tok1)
                columns["tok2"].append(tok2)
                columns["phone"].append(phone_key(row[at["Телефон"]]))
                columns["email"].append(email if "@" in email[1:-1] else None)
                columns["birth_date"].append(date_key(row[at["Дата рождения"]]) if sales else None)
                columns["vin"].append(vin)
                columns["vin_core"].append(vin[:8] + vin[10:] if vin else None)
                columns["customer_number"].append(row[at["Код клиента"]].strip() or None)
                uid += 1
    return columns


def settings(seed: int) -> object:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_sorted"),
            cll.ExactMatchLevel("name_sorted").configure(tf_adjustment_column="name_sorted"),
            cll.ExactMatchLevel("name_letters"),
            cll.JaroWinklerLevel("name_sorted", 0.92),
            cll.Or(cll.ExactMatchLevel("tok1"), cll.ExactMatchLevel("tok2"),
                   cll.ColumnsReversedLevel("tok1", "tok2")),
            cll.JaroWinklerLevel("name_sorted", 0.8),
            cll.ElseLevel(),
        ],
    )
    vin = cl.CustomComparison(
        output_column_name="vin",
        comparison_levels=[
            cll.NullLevel("vin"),
            cll.ExactMatchLevel("vin"),
            cll.ExactMatchLevel("vin_core"),
            cll.DamerauLevenshteinLevel("vin", 1),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            name,
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("email"),
            cl.ExactMatch("birth_date"),
            vin,
            cl.ExactMatch("customer_number").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("customer_number"), block_on("phone"), block_on("vin_core"), block_on("name_sorted"),
            block_on("name_letters"),
            block_on("email"), block_on("birth_date", "tok1"), block_on("birth_date", "tok2"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--u-pairs", type=float, default=1e6, help="pairs sampled for u (splink's default 1e6)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    import logging

    import duckdb
    import pyarrow as pa
    import splink
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    load = [round(value, 2) for value in os.getloadavg()]
    started = time.perf_counter()
    table = pa.table(prepare(args.workdir, args.files))
    rows = table.num_rows
    prep_s = time.perf_counter() - started
    print(f"splink: {rows} rows prepared in {prep_s:.1f} s", flush=True)

    db_api = DuckDBAPI(duckdb.connect())
    data = db_api.register(table, dataset_display_name="dms")
    linker = Linker(data, settings(args.seed), log_level=None)
    training = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone", "name_letters"), block_on("vin_core", "name_letters")], recall=0.7)
    print(f"splink: prior {time.perf_counter() - training:.1f} s", flush=True)
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_pairs, seed=args.seed)
    print(f"splink: u {time.perf_counter() - training:.1f} s", flush=True)
    for rule in (block_on("name_sorted"), block_on("phone"), block_on("vin_core"), block_on("customer_number")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
        print(f"splink: EM {time.perf_counter() - training:.1f} s", flush=True)
    train_s = time.perf_counter() - training
    print(f"splink: trained in {train_s:.1f} s", flush=True)
    predicting = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    predict_s = time.perf_counter() - predicting
    clustering = time.perf_counter()
    for threshold in (0.999, 0.5):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold)
        out = args.workdir / f"splink_{threshold}.csv"
        db_api._con.execute(f"COPY (SELECT unique_id, dense_rank() OVER (ORDER BY cluster_id) AS cluster "
                            f"FROM {clusters.physical_name}) TO '{out}' (HEADER, DELIMITER ',')")
    cluster_s = time.perf_counter() - clustering
    seconds = time.perf_counter() - started
    print(f"splink: predicted in {predict_s:.1f} s, clustered in {cluster_s:.1f} s", flush=True)
    print(json.dumps({
        "rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds), "prep_s": round(prep_s, 2),
        "train_s": round(train_s, 2), "predict_s": round(predict_s, 2), "cluster_s": round(cluster_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "version": splink.__version__, "duckdb": duckdb.__version__, "load": load,
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
