"""Hidden checks: the counterpart of each visible check on other, secret inputs and extra cases.

Never shipped to students (the student release leaves this package out); on Gradescope their
results are shown after the due date. Each module mirrors a problem module of
:mod:`dlcourse.grading` and defines ``CHECKS``; a hidden check's id is its visible check's id plus
``"-hidden"``, and both have half of the part's points; a hidden check's judge compares with the same
key function on its own inputs (:mod:`dlcourse.grading.keys`, computed where the hidden checks run,
never stored). The grader never loads this package in the process that runs student code.
"""
