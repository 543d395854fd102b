"""Grade student notebooks with the same checks students run, on inputs they cannot know in advance.

    python -m helpers.grade SUBMISSION.ipynb [MORE.ipynb | FOLDER ...] [--out grades.csv]
                            [--jobs N] [--timeout SECONDS] [--exercise-timeout SECONDS]
                            [--memory GB] [--sandbox auto|bwrap|none] [--feedback DIR]

Prints a table (one row per notebook: each exercise pass / FAIL / not done, the total) with the reason
for every failure under it, and writes a CSV (one row per notebook: file, each exercise's result,
reason and points, totals, notes, the bounds that held), atomically; with ``--feedback DIR``, one
Markdown file per notebook for its student. A folder stands for the notebooks directly inside it. Exit code 0
when grading completed, whatever the students scored; 2 on bad usage.

How one notebook is graded (``grade_notebook``):

1. Its code cells are filtered, statement by statement (AST, after IPython's own transformation of
   magics): only imports, ``def``/``class`` statements and assignments of literal constants are kept.
   Everything else (loading data, training, plotting, the check cells) is left out, so grading takes
   seconds and a submission's own check calls or printed verdicts play no part. A cell with a syntax
   error is left out and reported.
2. The notebook (and the ordinary files next to it) is copied into a grading folder of its own,
   and a kernel (``python3``, jupyter_client) is started there under a
   :class:`~helpers.grade.confine.Confinement`: bubblewrap without capabilities (no network, the
   file system read-only, the home folders, /var/tmp and the submission's own folder hidden, a
   private /tmp and /dev/shm), a uid of its own for a root grader, a cgroup (or rlimits) bounding
   all its processes together (tasks, memory with tmpfs, CPU), the folder on a size-limited tmpfs;
   a small environment of its own (none of the grader's variables), one thread for numpy/torch.
   The kept code runs there, cell by cell; what it prints is capped (zmq drops an oversized
   message; past a total the run is stopped and reported as the output cap).
3. For each exercise the grader draws fresh inputs (a seed from ``secrets``), writes them as .npy/.json
   into the temporary folder, and asks the kernel to run the notebook's function or class on them
   (``transport.driver_code``: the check's files loaded by path under private names, not anything
   the notebook can redefine) into a new output folder of a random name. Only plain arrays and JSON
   come back, read only as regular files (no link followed); the grader loads them without pickle
   and judges them in its own process, within its own time limit, with the reference it computes
   from the inputs it kept in memory (``helpers.checks.judge``, the same judge the students' checks
   use). Only the grader's verdicts and short escaped excerpts of the kernel's errors reach the
   report, and no CSV cell starts like a formula.
4. Time limits: ``--timeout`` for the whole notebook (kernel start, kept code, exercises), and
   ``--exercise-timeout`` for one exercise's run on the small inputs, so an endless loop in one
   exercise still leaves time for the others. A kernel that dies, or does not come back from the
   interrupt, is restarted (the kept code re-run) for the remaining exercises. A grading worker that
   dies costs only the row of its notebook; every notebook gets a row and the CSV is always written.

The modules, one job each:

- :mod:`~helpers.grade.cli`: the command line (options, finding notebooks, choosing the sandbox).
- :mod:`~helpers.grade.grading`: grading one notebook and many (the kernel session, time limits).
- :mod:`~helpers.grade.plan`: reading a notebook and choosing which statements and exercises run.
- :mod:`~helpers.grade.sandbox`: one notebook's confined workspace, the kernel's command and environment.
- :mod:`~helpers.grade.confine`: running untrusted processes confined (bubblewrap, uid, bounds).
- :mod:`~helpers.grade.cgroups`: a cgroup (v2 or v1) capping all of a submission's processes.
- :mod:`~helpers.grade.untrusted`: handling what a submission leaves (removal, reads, excerpts, CSV cells).
- :mod:`~helpers.grade.workers`: worker processes, each replaced alone when it dies.
- :mod:`~helpers.grade.kernel`: talking to one kernel (start, run with a time limit, interrupt, stop).
- :mod:`~helpers.grade.transport`: inputs and outputs as plain files, and the code the kernel runs.
- :mod:`~helpers.grade.report`: a notebook's grades (``Row``), the CSV and the table.
"""

from helpers.grade.cli import main
from helpers.grade.grading import Options, grade_all, grade_notebook
from helpers.grade.report import Row

__all__ = ["main", "grade_notebook", "grade_all", "Options", "Row"]
