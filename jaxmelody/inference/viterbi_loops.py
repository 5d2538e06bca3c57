"""The banded Viterbi recursion's inner loop, in numpy or in numba.

``viterbi.banded_viterbi`` prepares librosa's log terms; the loop over
frames runs here, in one of two implementations that take the same sums
and the same choice among equal scores (the same path, tested): numba's
(fast per frame, slow to start in a fresh process) or numpy's (no
start-up). ``uses_numba`` picks the cheaper one for the process.

  run(log_prob, band, log_zero, log_p_init, max_move) -> int64 [T] states
  uses_numba(n_steps) -> whether a chain of n_steps frames runs in numba
  load_numba() -> the compiled loop (loaded from numba's cache)
"""

import functools
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# The pitch chain's loop runs in numpy (~19 us per frame) or in numba (~6
# us per frame, after a start-up of ~0.6 s in a fresh process: import,
# target set-up, loading the cached machine code); benchmarks/
# time_to_melody.py prints all three. A process runs numpy until its
# chains would total this many frames (0.6 s / 13 us; 12 min of audio),
# then numba: never more than twice the cheaper choice in hindsight, and a
# single song in a fresh process skips numba's start-up.
_NUMPY_MAX_FRAMES = 45_000
_numpy_frames = 0  # frames this process has decoded with the numpy loop


def uses_numba(n_steps: int) -> bool:
  """Whether a chain of ``n_steps`` frames runs in numba (same path)."""
  # Once numba is in the process (librosa's resampling loads it), its loop
  # is the cheaper one at any length.
  return ('numba' in sys.modules
          or _numpy_frames + n_steps > _NUMPY_MAX_FRAMES)


def run(log_prob, band, log_zero, log_p_init, max_move):
  """``_banded_viterbi_loop``, in numba or in numpy (identical paths).

  Args and returns: as ``_banded_viterbi_loop``.
  """
  global _numpy_frames  # pylint: disable=global-statement
  if uses_numba(len(log_prob)):
    return load_numba()(log_prob, band, log_zero, log_p_init, max_move)
  _numpy_frames += len(log_prob)
  return _banded_viterbi_numpy(log_prob, band, log_zero, log_p_init,
                               max_move)


@functools.cache
def load_numba():
  """``_banded_viterbi_loop`` compiled by numba, cached on disk.

  numba keeps the machine code next to this file (``__pycache__``) or, where
  that is not writable (an installed package), in its user cache folder
  ($NUMBA_CACHE_DIR overrides).
  """
  import numba  # pylint: disable=g-import-not-at-top
  return numba.njit(cache=True)(_banded_viterbi_loop)


def _banded_viterbi_loop(log_prob, band, log_zero, log_p_init, max_move):
  """The loop of ``viterbi.banded_viterbi``, for numba (``load_numba``).

  Args:
    log_prob: float64 [T, n] log likelihoods, T >= 1.
    band: float64 [2 M + 1, n] log transitions into state j from j + d
      (row d + M); -inf where j + d is not a state.
    log_zero: the log score of a transition outside the band, log(tiny).
    log_p_init: float64 [n] log initial distribution.
    max_move: M.

  Returns:
    int64 [T] states.
  """
  n_steps, n = log_prob.shape
  ptr = np.zeros((n_steps, n), np.int32)
  value = log_prob[0] + log_p_init
  new = np.empty(n)
  low_val, low_arg = np.empty(n), np.zeros(n, np.int64)
  high_val, high_arg = np.empty(n), np.zeros(n, np.int64)
  for t in range(1, n_steps):
    # Best source among states 0..i (low) and i..n-1 (high) for a jump out
    # of the band, the first index winning ties as np.argmax does.
    for i in range(n):
      score = value[i] + log_zero
      if i == 0 or score > low_val[i - 1]:
        low_val[i], low_arg[i] = score, i
      else:
        low_val[i], low_arg[i] = low_val[i - 1], low_arg[i - 1]
    for i in range(n - 1, -1, -1):
      score = value[i] + log_zero
      if i == n - 1 or score >= high_val[i + 1]:
        high_val[i], high_arg[i] = score, i
      else:
        high_val[i], high_arg[i] = high_val[i + 1], high_arg[i + 1]
    for j in range(n):
      # Sources in increasing order: below the band, the band, above it;
      # only a strictly better score replaces the best so far.
      best, arg = -np.inf, -1
      if j - max_move - 1 >= 0:
        best, arg = low_val[j - max_move - 1], low_arg[j - max_move - 1]
      for d in range(-max_move, max_move + 1):
        k = j + d
        if 0 <= k < n:
          score = value[k] + band[d + max_move, j]
          if score > best:
            best, arg = score, k
      if j + max_move + 1 < n and high_val[j + max_move + 1] > best:
        best, arg = high_val[j + max_move + 1], high_arg[j + max_move + 1]
      ptr[t, j] = arg
      new[j] = log_prob[t, j] + best
    value[:] = new
  states = np.zeros(n_steps, np.int64)
  states[-1] = np.argmax(value)
  for t in range(n_steps - 2, -1, -1):
    states[t] = ptr[t + 1, states[t + 1]]
  return states


def _banded_viterbi_numpy(log_prob, band, log_zero, log_p_init, max_move):
  """``_banded_viterbi_loop`` with numpy: one frame at a time, all states
  at once (the same sums and the same choice among equal scores).

  Per frame each state's best source in the band is the first maximum of
  its 2 M + 1 sums (sources in increasing order, as the loop scans them). A
  jump from outside the band scores at most max(value) + log_zero; only
  when that reaches some state's best in the band (likelihoods of exactly 0,
  in practice) does ``_with_jumps`` weigh the jumps exactly.
  """
  n_steps, n = log_prob.shape
  m = max_move
  ptr = np.zeros((n_steps, n), np.int32)
  states = np.arange(n)
  band_t = np.ascontiguousarray(band.T)  # [n, 2 M + 1]
  padded = np.full(n + 2 * m, -np.inf)
  sources = sliding_window_view(padded, 2 * m + 1)  # [j, d + M]: value[j + d]
  sums = np.empty_like(band_t)
  value = log_prob[0] + log_p_init
  for t in range(1, n_steps):
    padded[m:m + n] = value
    np.add(sources, band_t, out=sums)
    arg = sums.argmax(axis=1)
    best = sums[states, arg]
    src = states + (arg - m)
    jump = value + log_zero
    if jump.max() >= best.min():
      best, src = _with_jumps(jump, best, src, m)
    ptr[t] = src
    value = log_prob[t] + best
  path = np.zeros(n_steps, np.int64)
  path[-1] = np.argmax(value)
  for t in range(n_steps - 2, -1, -1):
    path[t] = ptr[t + 1, path[t + 1]]
  return path


def _with_jumps(jump, best, src, m):
  """The best sources of one frame with jumps from outside the band.

  Args:
    jump: float64 [n] the score of a jump out of each state (value +
      log_zero).
    best, src: float64 [n], int [n] each state's best score and source in
      the band.
    m: the band's half-width.

  Returns:
    (best, src) as ``_banded_viterbi_loop`` decides: a jump from below the
    band (a lower source) wins ties against the band, one from above only
    a strictly better score; among jumps, the lowest source of the maximum.
  """
  n = len(jump)
  index = np.arange(n)
  # Best among states 0..i: the first index of the running maximum.
  low_val = np.maximum.accumulate(jump)
  rises = np.concatenate([[True], jump[1:] > low_val[:-1]])
  low_arg = np.maximum.accumulate(np.where(rises, index, 0))
  # Best among states i..n-1: the lowest index of the maximum, i.e. the
  # last to reach it scanning down from n - 1.
  down = jump[::-1]
  down_val = np.maximum.accumulate(down)
  reaches = np.concatenate([[True], down[1:] >= down_val[:-1]])
  high_val = down_val[::-1]
  high_arg = (n - 1 - np.maximum.accumulate(np.where(reaches, index, 0))
              )[::-1]
  best, src = best.copy(), src.copy()
  j = index[m + 1:]  # states with sources below their band
  below = j - m - 1
  take = ~(best[j] > low_val[below])
  best[j[take]], src[j[take]] = low_val[below][take], low_arg[below][take]
  j = index[:n - m - 1]  # states with sources above their band
  above = j + m + 1
  take = high_val[above] > best[j]
  best[j[take]], src[j[take]] = high_val[above][take], high_arg[above][take]
  return best, src
