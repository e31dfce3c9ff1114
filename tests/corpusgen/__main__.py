"""``python -m tests.corpusgen OUT_DIR --seed N --cases 120 [--kinds ...]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.corpusgen.generate import IdentityRendererMissing, write_corpus
from tests.corpusgen.landlord import KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.corpusgen", description=__doc__)
    parser.add_argument("out", type=Path, help="folder to write the corpus into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=list(KINDS),
        metavar="KIND",
        help=f"landlord confirmation layouts ({', '.join(KINDS)}); add 'landlord' to leave "
        "identity documents out",
    )
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds if k != "landlord"] or list(KINDS)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(
            f"unknown layout kind(s): {', '.join(unknown)}; choose from {', '.join(KINDS)}"
        )
    try:
        written = write_corpus(
            args.out, args.seed, args.cases, kinds, identities="landlord" not in args.kinds
        )
    except IdentityRendererMissing as error:
        sys.stderr.write(f"corpusgen: {error}\n")
        return 2
    sys.stdout.write(f"{len(written)} cases written to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
