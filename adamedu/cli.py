"""The ``adamedu`` command.

    adamedu student-edition OUT_DIR [--overwrite] [--book DIR]
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="adamedu", description="Tools for the adamedu book.")
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser(
        "student-edition",
        help="write the chapters with exercises, solutions replaced by stubs, into OUT_DIR",
        description="Write the student edition: every chapter notebook that holds exercises, with solution code "
                    "replaced by stubs that raise NotImplementedError, written solutions removed, checks kept and "
                    "outputs cleared. The source tree is never written to.")
    student.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty directory outside the source tree")
    student.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty OUT_DIR")
    student.add_argument("--book", metavar="DIR", help="the folder of chapter notebooks (default: the book/ folder "
                                                       "next to the installed package)")
    args = parser.parse_args(argv)

    try:
        from .course import student_edition
    except ImportError as err:  # nbformat comes with the book's extra
        sys.exit(f"adamedu student-edition needs nbformat ({err}); install adamedu[book]")
    try:
        written = student_edition.make_student_edition(args.out_dir, book=args.book or student_edition.BOOK,
                                                       overwrite=args.overwrite)
    except (ValueError, FileExistsError) as err:
        sys.exit(f"adamedu student-edition: {err}")
    for path in written:
        print(path)
    print(f"wrote {len(written)} notebook(s) to {args.out_dir}")


if __name__ == "__main__":
    main()
