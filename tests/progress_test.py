"""Progress lines and ETAs: the compile is reported apart and never enters the step rate."""

from darts_jax import progress


class Clock:
  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def test_eta_counts_steady_steps_only_and_lines_come_at_most_every_period():
  clock, lines = Clock(), []
  p = progress.Progress(total=100, done=0, report=lines.append, every=30.0, clock=clock)
  p.compiled(120.0)
  clock.now += 2.0  # the first step: warm-up, not a steady step
  p.step("epoch 1/10  ")
  assert p.eta() is None and p.eta_text() == "eta --"
  for _ in range(19):  # 19 steps at 0.5 s each
    clock.now += 0.5
    p.step("epoch 1/10  ")
  assert abs(p.rate() - 2.0) < 1e-9
  assert abs(p.eta() - 80 / 2.0) < 1e-9  # 80 steps left at 2 steps/s; the 120 s compile is out
  assert lines == []  # 9.5 s since the first step: no line yet
  for _ in range(60):
    clock.now += 0.5
    p.step("epoch 1/10  ")
  assert len(lines) == 1 and lines[0].startswith("  epoch 1/10  step ")
  assert "2.00 steps/s" in lines[0] and "eta" in lines[0]


def test_a_resumed_run_counts_from_where_it_stopped():
  clock = Clock()
  p = progress.Progress(total=100, done=60, report=lambda _: None, clock=clock)
  clock.now += 5.0
  p.step()
  for _ in range(10):
    clock.now += 1.0
    p.step()
  assert p.done == 71 and abs(p.eta() - 29.0) < 1e-9


def test_durations_read_as_people_write_them():
  assert [progress.duration(s) for s in (0, 42.4, 185, 7800)] == ["0s", "42s", "3m05s", "2h10m"]


def test_work_between_epochs_is_left_out_of_the_rate():
  clock = Clock()
  p = progress.Progress(total=10, report=lambda _: None, clock=clock)
  clock.now += 1.0
  p.step()
  clock.now += 1.0
  p.step()
  clock.now += 30.0  # a checkpoint and a diagnostic compile
  p.exclude(30.0)
  clock.now += 1.0
  p.step()
  assert abs(p.rate() - 1.0) < 1e-9
