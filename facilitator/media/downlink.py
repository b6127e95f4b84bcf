"""One subscriber's downlink estimate, from its REMB and its receiver reports: a pure policy.

Part of the allocation (allocation.py re-exports it): Galène's rule (over 10% loss cut, under
2% grow slowly up to the REMB, between hold), telling congestion (a REMB well under what
arrives, loss that comes with a rise in what is sent, goes on after a cut or falls when it is
cut) from a link's own random loss (which it learns and leaves out). No aiortc, no asyncio:
every method that depends on time takes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass

FLOOR_KBPS = 150.0
"""A downlink estimate never falls below this (loss alone must not starve a subscriber)."""
CUT_LOSS = 0.10
"""Loss above which the estimate is cut, by a factor (1 - loss / 2)."""
GROW_LOSS = 0.02
"""Loss below which the estimate grows, by GROWTH_PER_SECOND, up to the REMB."""
GROWTH_PER_SECOND = 0.08
"""Growth of an estimate per second of good reports (8%)."""
MAX_GROWTH_STEP = 1.0
"""Seconds counted at most between two reports (a silent subscriber does not grow)."""
RESUME_SECONDS = 3.0
"""A stream goes up a level only after the budget has had room for it this long; the
estimate counts as recovering this long after a cut."""
CUT_INTERVAL = 1.0
"""Loss cuts an estimate at most once in this many seconds (one episode shows in several
reports, and the allocation steps twice a second)."""
SENDING_HEADROOM = 1.5
"""A cut starts from at most this many times what was sent (an estimate can be far above it)."""
REMB_BINDING = 0.5
"""A REMB under this share of what arrives (what was sent, less the loss) is a link cut under
what is sent: a delay-based estimate (aiortc's, a browser's) falls to 85% of what arrives at any
sign of a queue, timing noise included, counts no headers (~5%), and aiortc's dips to ~60% on a
busy machine; only a REMB well under all that is the link's limit (a link cut to half or less).
At or above it, it only says what arrives (smaller shortfalls show in the loss)."""
REMB_PERSIST = 0.5
"""A low REMB binds once it has stayed low this long (two steps): one dip is noise."""
STILL_LOSS = 0.7
"""Loss that stays above this share of itself after the rate was cut did not come from the rate:
it is the link's own (random loss, a Wi-Fi link)."""
CUT_SHARE = 0.9
"""What is sent must fall under this share of the rate of a cut before the loss is compared."""
REPORT_LAG = 2.0
"""Seconds after a REMB cut in which loss reports still describe the rate before it (reports
come about once a second and count the interval before them): they do not cut again."""
REMB_CHECK = 3.0
"""A REMB cut that no loss follows within this many seconds was noise (a cut link loses
packets within a second or two): it is undone, and such REMBs do not bind for a while..."""
REMB_DISTRUST_SECONDS = 10.0
"""...this long, doubled each time again, up to PROBE_BACKOFF_MAX_SECONDS."""
DEEPER_CUT = 0.85
"""Loss that goes on after a cut, at the rate the cut left, means the link is still over-full
(a standing queue, which retransmissions keep full): the estimate goes to this share of what
is sent, which sheds a stream..."""
DEEPER_SECONDS = 10.0
"""...when the loss comes this soon after the cut (and REPORT_LAG after it at the earliest).
If the loss then does not fall with the rate, it was the link's own: the deeper cut is undone
and not tried again for DEEPER_DISTRUST_SECONDS."""
DEEPER_DISTRUST_SECONDS = 30.0
"""No deeper cut for this long after one was undone."""
RANDOM_SMOOTHING = 0.05
"""Weight of a new report in the learnt random loss, while the rate is steady (about 14 reports
to learn half of it; meanwhile that loss holds the estimate and takes nothing away)."""
CEILING_KBPS = 20000.0
"""The most a downlink estimate grows to without a REMB that bounds it."""
PROBE_UNDER = 0.9
"""After a cut, growth stays under this share of the rate that failed..."""
PROBE_BACKOFF_SECONDS = 10.0
"""...for this long, doubled each time a probe fails again..."""
PROBE_BACKOFF_MAX_SECONDS = 60.0
"""...up to this."""


def cut_or_grow(
    estimate: float, loss: float, elapsed: float, floor: float, ceiling: float
) -> float:
    """Galène's rule for one report: cut on high loss, grow slowly on low loss, else hold."""
    if loss > CUT_LOSS:
        estimate *= 1.0 - loss / 2.0
    elif loss < GROW_LOSS:
        step = min(max(elapsed, 0.0), MAX_GROWTH_STEP)
        estimate *= (1.0 + GROWTH_PER_SECOND) ** step
    return max(floor, min(ceiling, estimate))


def _still(fraction: float, before: float) -> bool:
    """True when loss ``fraction`` after a cut is about the ``before`` that made it (it did not
    fall with the rate)."""
    return fraction >= GROW_LOSS and fraction >= STILL_LOSS * before


@dataclass
class DownlinkEstimate:
    """One subscriber's downlink in kbit/s, from the REMB it sends and the loss it reports.

    Given what the SFU sends the subscriber (``sending``), a REMB near or above it only says
    that what arrives arrives (aiortc's and a browser's estimates stay close to what they
    receive), so it is no ceiling: the estimate may grow above it on reports without loss,
    which raises a held-back stream on trial (the probe); loss then cuts it, and it keeps
    under the rate that failed for a while (``PROBE_BACKOFF_SECONDS``, doubling up to
    ``PROBE_BACKOFF_MAX_SECONDS`` while probes keep failing). A REMB well below what arrives
    (``REMB_BINDING``) is congestion: a ceiling at once, undone when no loss follows. Without
    ``sending`` (nothing measured yet) every REMB is a ceiling. Loss counts beyond the link's
    own (``random_loss``, see ``on_loss``), so random loss on a wide link takes nothing away.
    """

    floor: float = FLOOR_KBPS
    remb: float | None = None
    """The subscriber's last REMB (its own estimate)."""
    ceiling: float | None = None
    """What the estimate may not exceed now (None: only ``CEILING_KBPS``)."""
    estimate: float | None = None
    """Our estimate; None until the first REMB or heavy loss (nothing known: nothing held back)."""
    reported_at: float | None = None
    """When the last loss report came."""
    cut_at: float | None = None
    """When loss last cut the estimate (the subscriber is recovering for a while after)."""
    failed_kbps: float | None = None
    """The rate whose loss made the last cut: growth stays under it until ``failed_until``."""
    failed_until: float = 0.0
    backoff: float = 0.0
    """How long the last failed rate is kept (0: no probe failed lately)."""
    loss: float = 0.0
    """The last loss fraction reported."""
    random_loss: float = 0.0
    """The link's own loss, learnt (random loss that does not come from the rate)."""
    remb_bound: bool = False
    """The last REMB was well under what arrives: congestion."""
    remb_judged: bool = False
    """The last REMB could be compared with what arrives (what was sent was known)."""
    remb_cut_at: float | None = None
    """When such a REMB last lowered the estimate."""
    low_since: float | None = None
    """Since when the REMBs have been well under what arrives."""
    remb_undo: float | None = None
    """The estimate before a REMB cut that no loss has confirmed yet."""
    distrust_until: float = float("-inf")
    distrust: float = 0.0
    """REMBs bind again only after ``distrust_until`` (one cut was undone lately)."""
    loss_congested: bool = False
    """The loss said congestion and has not fallen under 2% (beyond the random) since."""
    cut_from: tuple[float, float] | None = None
    """(what was sent, loss) at the last loss cut, to see whether the loss falls with the rate."""
    deeper: tuple[float, float, float] | None = None
    """(when, the estimate before, the loss) of a deeper cut not judged yet."""
    deeper_after: float = float("-inf")
    """No deeper cut before this (one was undone lately)."""

    def on_remb(
        self, kbps: float, now: float, sending: float | None = None, probe: bool = True
    ) -> None:
        """Take a REMB: it starts the estimate, and bounds it unless it is just what arrives.

        ``sending``: what was sent lately (kbit/s, video: a REMB leaves audio out); a REMB well
        under what of it arrives is congestion, a ceiling at once (a cut link shows in the REMB
        before the receiver reports it). ``probe``: something is held back, so the estimate may
        grow past a REMB that only says what arrives; else that REMB bounds it too (the
        allocator then keeps what is sent)."""
        self.remb = max(self.floor, kbps)
        if self.estimate is None:
            self.estimate = self.remb
            self.reported_at = now
        arrives = None if sending is None else sending * (1.0 - self.loss)
        self.remb_judged = arrives is not None
        trusted = now >= self.distrust_until
        if arrives is not None and (self.remb >= REMB_BINDING * arrives or not trusted):
            self.remb_bound, self.low_since = False, None
            self.ceiling = None if probe else self.remb
            if not probe:
                self.estimate = min(self.estimate, self.remb)
            return
        if arrives is not None:
            if self.low_since is None:
                self.low_since = now
            if now - self.low_since < REMB_PERSIST:
                self.ceiling = None if probe else max(self.remb, self.ceiling or self.remb)
                return  # the first low one: wait for the next
        self.ceiling = self.remb
        if arrives is not None:
            self.remb_bound = True
            if self.remb < self.estimate:
                self.remb_cut_at = now  # the loss reports of this episode are still to come
                if self.remb_undo is None:
                    self.remb_undo = self.estimate
        self.estimate = min(self.estimate, self.remb)

    def remb_lapsed(self) -> None:
        """No REMB came lately (its streams are paused, or it stopped): it bounds no more."""
        self.ceiling = None
        self.remb_bound = False

    def _check_remb_cut(self, excess: float, now: float) -> None:
        """A REMB cut is confirmed by the loss that follows it, or undone without any."""
        if self.remb_undo is None or self.remb_cut_at is None:
            return
        if excess >= GROW_LOSS:
            self.remb_undo = None  # the link was full: the loss came
        elif now - self.remb_cut_at >= REMB_CHECK:
            assert self.estimate is not None
            self.estimate = max(self.estimate, self.remb_undo)
            self.remb_undo, self.remb_bound, self.ceiling = None, False, None
            again = now - self.distrust_until < PROBE_BACKOFF_MAX_SECONDS
            self.distrust = (
                min(PROBE_BACKOFF_MAX_SECONDS, 2 * self.distrust)
                if again and self.distrust
                else REMB_DISTRUST_SECONDS
            )
            self.distrust_until = now + self.distrust

    @property
    def unconfirmed(self) -> bool:
        """A REMB cut the estimate and no loss has confirmed it yet (it may be undone)."""
        return self.remb_undo is not None

    @property
    def congested(self) -> bool:
        """The last REMB or loss said the link is full (not only lossy): a REMB alone may then
        take streams away."""
        return self.remb_bound or self.loss_congested

    def on_loss(
        self, fraction: float, now: float, sending: float | None = None,
        before_rise: float | None = None,
    ) -> None:  # fmt: skip
        """Take the loss fraction (0..1) of a receiver report (``sending``: what the SFU sent
        the subscriber lately, kbit/s; a cut starts from it when the estimate is far above;
        ``before_rise``: what it sent before its plan raised a stream in the last seconds,
        None when it did not: the publishers' own ups and downs are no rise).

        The loss counted is what exceeds the link's own (``random_loss``): loss that stays
        while the rate is steady is learnt, slowly, as the link's (meanwhile 2-10% holds); loss
        that comes with a rise is congestion (back to what carried); loss that stays the same
        when the rate is cut was the link's after all."""
        if self.estimate is None:
            # No REMB yet (a late one, a client that sends none): heavy loss at a known rate
            # still says the link is full, so the estimate starts from what is sent.
            if sending is None or fraction <= CUT_LOSS:
                return
            self.estimate = sending
        self.loss = fraction
        self._judge_deeper(fraction, now)
        self._unless_still(fraction, now, sending)
        excess = max(0.0, fraction - self.random_loss)
        self._check_remb_cut(excess, now)
        rose = before_rise is not None
        if excess > CUT_LOSS or (excess >= GROW_LOSS and rose):
            self._congestion(excess, now, sending, before_rise if excess <= CUT_LOSS else None)
            return
        since_cut = None if self.cut_at is None else now - self.cut_at
        if (
            excess >= GROW_LOSS
            and sending is not None
            and since_cut is not None
            and REPORT_LAG <= since_cut <= DEEPER_SECONDS
            and self.deeper is None
            and now >= self.deeper_after
        ):
            before = self.estimate
            self._congestion(excess, now, sending, DEEPER_CUT * sending)
            self.deeper = (now, before, fraction)
            return
        after_remb = self.remb_cut_at is not None and now - self.remb_cut_at < REMB_CHECK
        if excess >= GROW_LOSS and (self.remb_bound or after_remb or not self.remb_judged):
            # The REMB has cut for this episode, or it could not be told from what arrives
            # (nothing was measured as sent yet): it decides, and the estimate holds (Galène).
            self.loss_congested = True
        if not self.loss_congested and not rose:
            # At a steady rate, loss that does not grow into a cut is learnt as the link's own,
            # slowly (a link that narrows while the rate is steady loses more and more: cut).
            self.random_loss += RANDOM_SMOOTHING * (min(CUT_LOSS, fraction) - self.random_loss)
        if excess < GROW_LOSS:
            self.loss_congested = False
        elapsed = 0.0 if self.reported_at is None else now - self.reported_at
        self.reported_at = now
        before = self.estimate
        ceiling = CEILING_KBPS if self.ceiling is None else self.ceiling
        if self.failed_kbps is not None:
            if now < self.failed_until:
                ceiling = min(ceiling, max(before, PROBE_UNDER * self.failed_kbps))
            elif before > self.failed_kbps and now - self.failed_until > self.backoff:
                self.failed_kbps, self.backoff = None, 0.0  # it held above: the probe worked
        self.estimate = cut_or_grow(before, excess, elapsed, self.floor, ceiling)

    def _congestion(
        self, excess: float, now: float, sending: float | None, carried: float | None
    ) -> None:
        """Loss that says the link is full: cut (Galène's factor for the loss beyond the
        random, or back to ``carried``, the rate before a rise that brought it), once per
        episode."""
        self.loss_congested = True
        self.reported_at = now
        assert self.estimate is not None
        if self.cut_at is not None and now - self.cut_at < CUT_INTERVAL:
            return  # the same episode: reports lag, and one cut a second is enough
        if self.remb_cut_at is not None and now - self.remb_cut_at < REPORT_LAG:
            return  # the REMB already cut for this episode; these reports describe before it
        before = self.estimate
        base = before if sending is None else min(before, SENDING_HEADROOM * sending)
        self._failed(base, now)
        if carried is None:
            self.estimate = cut_or_grow(base, excess, 0.0, self.floor, before)
        else:
            self.estimate = max(self.floor, min(before, carried))
        self.cut_at = now
        if sending is not None:
            self.cut_from = (sending, self.loss)

    def _judge_deeper(self, fraction: float, now: float) -> None:
        """A deeper cut is confirmed when the loss falls with it; else it is undone (the loss
        is the link's own, learnt as random) and not tried again for a while."""
        if self.deeper is None:
            return
        at, before, loss = self.deeper
        if now - at < REPORT_LAG:
            return
        self.deeper = None
        if _still(fraction, loss):
            assert self.estimate is not None
            self.estimate = max(self.estimate, before)
            self._links_own(fraction)
            self.cut_from = None  # judged: _unless_still has nothing left to judge
            self.deeper_after = now + DEEPER_DISTRUST_SECONDS

    def _unless_still(self, fraction: float, now: float, sending: float | None) -> None:
        """After a cut, once less is sent: loss that did not fall with the rate is the link's
        own, so it is learnt as random and the cut's reason is gone."""
        if self.cut_from is None or sending is None or self.cut_at is None:
            return
        rate, loss = self.cut_from
        if sending > CUT_SHARE * rate or now - self.cut_at < REPORT_LAG:
            return
        self.cut_from = None
        if _still(fraction, loss):
            self._links_own(fraction)

    def _links_own(self, fraction: float) -> None:
        """The loss did not fall with the rate: it is the link's own (learnt as random), and
        the cut's reason and its failed rate are gone."""
        self.random_loss = min(CUT_LOSS, fraction)
        self.loss_congested = False
        self.failed_kbps, self.backoff = None, 0.0

    def _failed(self, kbps: float, now: float) -> None:
        """Loss came at ``kbps``: keep under it for a while, longer each time in a row."""
        again = self.failed_kbps is not None and now - self.failed_until < PROBE_BACKOFF_MAX_SECONDS
        self.backoff = (
            min(PROBE_BACKOFF_MAX_SECONDS, 2 * self.backoff)
            if again and self.backoff
            else PROBE_BACKOFF_SECONDS
        )
        self.failed_kbps, self.failed_until = kbps, now + self.backoff

    def kbps(self) -> float | None:
        """The downlink to plan for (None: unknown, so nothing is held back)."""
        return self.estimate

    def recovering(self, now: float, seconds: float = RESUME_SECONDS) -> bool:
        """True shortly after loss cut the estimate."""
        return self.cut_at is not None and now - self.cut_at < seconds
