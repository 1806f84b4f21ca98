"""Autograder: questions with points, checks run in isolated processes, table and Gradescope reports.

:mod:`dlcourse.grading.core` holds the machinery; one module per problem holds its checks
(:mod:`~dlcourse.grading.minimax`, :mod:`~dlcourse.grading.clip`, :mod:`~dlcourse.grading.gan`), the
hidden checks theirs in ``hidden/`` and the answer keys - the expected values the judges compare
with - in ``keys/``; neither of these two ships to students.
"""
