"""Answer keys: the expected values each check's judge compares with, computed from the check's inputs.

One module per problem, one function per check, named by the check (``Check.key``): it takes the
check's ``args`` and returns plain data (numbers, strings, lists, dicts, tensors) - the expected
results and the results of each known mistake the judge names - and never sees what the student's
code did. This package holds the answers in executable form, so it ships only where the reference
does (the instructors' checkout, the autograder): it is never importable in a probe
(:mod:`dlcourse.grading.sandbox`), and the students' copy holds, instead, the *values* of its visible
checks' keys, stored by ``dlcourse release`` (:func:`dlcourse.grading.core.stored_answer_keys`).

The keys compute independently of the reference parts (formulas written out here, numerical
searches), so a bug in the reference shows up as a failing check on the reference.
"""
