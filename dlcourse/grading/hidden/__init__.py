"""Hidden checks: the counterpart of each visible check on other, secret inputs and extra cases.

Never shipped to students (the student release leaves this package out); on Gradescope their
results are shown after the due date. Each module mirrors a problem module of
:mod:`dlcourse.grading` and defines ``CHECKS``; a hidden check's id is its visible check's id plus
``"-hidden"``, and both have half of the part's points. The grader never loads this package in the
process that runs student code.
"""
