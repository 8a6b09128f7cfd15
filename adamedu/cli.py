"""The ``adamedu`` command.

    adamedu student-edition OUT_DIR [--overwrite] [--book DIR]
    adamedu grade SUBMISSIONS --out OUT [--timeout SECONDS] [--jobs N] [--overwrite] [--source BOOK_DIR]
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
    grade = commands.add_parser(
        "grade", help="grade a class: run every student's notebooks and write grades.csv and feedback into OUT",
        description="Grade a class. SUBMISSIONS holds one folder per student (named by the student's id) with "
                    "that student's notebooks, named as in the student edition. Every notebook runs in a fresh "
                    "kernel of its own, in a temporary copy; each graded exercise is judged outside the kernel. "
                    "Writes OUT/grades.csv, OUT/feedback/STUDENT.md and OUT/grading.json. Exits 0 when it graded, "
                    "whatever the scores; 1 for an error in what it was given. Not a sandbox: see the README.")
    grade.add_argument("submissions", metavar="SUBMISSIONS", help="the folder of student folders")
    grade.add_argument("--out", metavar="OUT", required=True, help="a new or empty folder for the grades")
    grade.add_argument("--timeout", metavar="SECONDS", type=float, default=300.0,
                       help="wall-clock budget of one notebook (default 300)")
    grade.add_argument("--jobs", metavar="N", type=int, default=1, help="notebooks graded at once (default 1)")
    grade.add_argument("--overwrite", action="store_true", help="replace the grades already in OUT")
    grade.add_argument("--source", metavar="BOOK_DIR", help="the folder of source notebooks (default: the book/ "
                                                            "folder next to the installed package)")
    grade.add_argument("--memory", metavar="MB", type=int, default=4096,
                       help="address-space limit of each kernel in MiB, 0 for none (default 4096)")
    grade.add_argument("--seed", type=int, help="the seed of the grader's inputs (default: a fresh random one, "
                                                "recorded in OUT/grading.json)")
    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(args)

    try:
        from .course import student_edition
    except ImportError as err:  # nbformat comes with the book's extra
        sys.exit(f"adamedu student-edition needs nbformat ({err}); {_STUDENT_EXTRA}")
    try:
        written = student_edition.make_student_edition(args.out_dir, book=args.book or student_edition.BOOK,
                                                       overwrite=args.overwrite)
    except (ValueError, FileExistsError) as err:
        sys.exit(f"adamedu student-edition: {err}")
    for path in written:
        print(path)
    print(f"wrote {len(written)} notebook(s) to {args.out_dir}")


_STUDENT_EXTRA = 'install the student extra: pip install -e ".[student]" in adamedu\'s folder'


def _grade(args):
    try:
        from .course import grade, student_edition
    except ImportError as err:  # nbformat and nbclient come with the book's extra
        sys.exit(f"adamedu grade needs nbformat and nbclient ({err}); {_STUDENT_EXTRA}")
    try:
        rows = grade.grade_class(args.submissions, args.out, args.source or student_edition.BOOK,
                                 timeout=args.timeout, jobs=args.jobs, overwrite=args.overwrite, seed=args.seed,
                                 memory_mb=args.memory, progress=grade.ProgressBar())
    except grade.GradeError as err:
        sys.exit(f"adamedu grade: {err}")
    for line in grade.summary(rows):
        print(line)
    print(f"wrote {args.out}/grades.csv and {args.out}/feedback/ (one file per student)")
    return 0


if __name__ == "__main__":
    main()
