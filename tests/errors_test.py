"""errors.exit_status: what each failure prints and the status it returns."""

import errno

import pytest

from jaxmelody import errors


def _raise(error):
  def run():
    raise error
  return run


@pytest.mark.parametrize('error,status,line', [
    (errors.ConfigError('--x: must be positive'), 2,
     'error: --x: must be positive'),
    (PermissionError(errno.EACCES, 'Permission denied', '/data/songs'), 2,
     'error: /data/songs: Permission denied'),
    (OSError(errno.EXDEV, 'Invalid cross-device link', 'a', None, 'b'), 2,
     'error: a: b: Invalid cross-device link'),
    (errors.Interrupted('at step 25, saved'), 130,
     'stopped: at step 25, saved'),
    (KeyboardInterrupt(), 130, 'error: interrupted: nothing more was done'),
])
def test_failures_are_one_line_on_stderr_with_their_status(error, status,
                                                           line, capsys):
  assert errors.exit_status(_raise(error)) == status
  captured = capsys.readouterr()
  assert captured.err.splitlines() == [line] and not captured.out


def test_a_finished_run_keeps_its_status():
  assert errors.exit_status(lambda: 1) == 1


def test_other_exceptions_are_bugs_and_keep_their_traceback():
  with pytest.raises(ZeroDivisionError):
    errors.exit_status(lambda: 1 // 0)
