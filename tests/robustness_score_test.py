"""Tests for scripts/robustness_score.py's decision rule (README)."""

import pytest

RUNNING = ('running', 'viterbi', None)
ARGMAX = ('running', 'argmax', None)
BATCH = ('batch', 'viterbi', None)


@pytest.fixture(scope='module')
def rule(load_script):
  return load_script('robustness_score.py')


def test_the_highest_score_wins_outside_the_tie_band(rule):
  results = {RUNNING: {'score': 80.0, 'vfa': 5.0},
             ARGMAX: {'score': 80.5, 'vfa': 30.0}}
  assert rule.choose(results, RUNNING) == ARGMAX


def test_a_tie_goes_to_the_lower_no_melody_false_alarms(rule):
  results = {RUNNING: {'score': 80.0, 'vfa': 20.0},
             ARGMAX: {'score': 80.25, 'vfa': 30.0},
             BATCH: {'score': 80.1, 'vfa': 10.0}}
  assert rule.choose(results, RUNNING) == BATCH


def test_a_full_tie_keeps_the_incumbent(rule):
  results = {RUNNING: {'score': 80.0, 'vfa': 10.0},
             ARGMAX: {'score': 80.2, 'vfa': 9.0}}
  assert rule.choose(results, RUNNING) == RUNNING
  # Without the incumbent among the tied, the better score decides.
  results[BATCH] = {'score': 81.0, 'vfa': 9.5}
  assert rule.choose(results, RUNNING) == BATCH


def test_candidates_are_the_declared_twelve_with_the_default_first(rule):
  assert len(rule.CANDIDATES) == len(set(rule.CANDIDATES)) == 12
  assert rule.CANDIDATES[0] == RUNNING
