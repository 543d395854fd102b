"""The course module's helpers.

For the notebooks: ``data`` (the recording or its stand-in), ``stimuli``, ``training``, ``metrics`` and
``plotting``; ``checks`` tells a student whether an exercise is right. For instructors: ``exercises``
(the registry of exercises and their points) and ``grade`` (``python -m helpers.grade``).

Importing ``helpers`` imports nothing else, so ``from helpers import data`` costs only what it uses.
"""
