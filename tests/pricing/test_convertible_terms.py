"""ConvertibleTerms: bad terms raise ValueError naming the field; schedules and accrual."""

from __future__ import annotations

import math

import pytest

from app.pricing.convertible import ConvertibleTerms, pack


def bond(**fields):
    base = {"conversion_ratio": 8.0, "maturity": 3.0}
    base.update(fields)
    return ConvertibleTerms(**base)


@pytest.mark.parametrize(("fields", "field"), [
    ({"conversion_ratio": math.nan}, "conversion_ratio"),
    ({"maturity": math.nan}, "maturity"),
    ({"conversion_ratio": 0.0}, "conversion_ratio"),
    ({"conversion_ratio": -8.0}, "conversion_ratio"),
    ({"maturity": math.inf}, "maturity"),
    ({"credit_spread": -0.001}, "credit_spread"),
    ({"face": 0.0}, "face"),
    ({"coupon_rate": -0.01}, "coupon_rate"),
    ({"coupon_rate": 0.02, "coupon_frequency": 3}, "coupon_frequency"),
    ({"redemption": -1.0}, "redemption"),
    ({"call_schedule": ((1.0, 2.0, 1000.0), (1.5, 2.5, 1010.0))}, "call_schedule"),
    ({"call_schedule": ((2.0, 1.0, 1000.0),)}, "call_schedule[0]"),
    ({"call_schedule": ((1.0, 3.5, 1000.0),)}, "call_schedule[0]"),
    ({"call_schedule": ((1.0, 2.0, -5.0),)}, "call_schedule[0].price"),
    ({"call_schedule": ((1.0, 2.0),)}, "call_schedule[0]"),
    ({"put_schedule": ((3.5, 1000.0),)}, "put_schedule[0]"),
    ({"put_schedule": ((1.0, 0.0),)}, "put_schedule[0].price"),
    ({"put_schedule": ((1.0, 990.0), (1.0, 995.0))}, "put_schedule"),
    ({"coupon_rate": 0.02, "coupon_times": (1.0, 0.5)}, "coupon_times"),
])
def test_bad_terms_raise_value_error_naming_the_field(fields, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        bond(**fields)


def test_a_bond_without_conversion_ratio_or_maturity_is_refused():
    with pytest.raises(ValueError, match="conversion_ratio is required"):
        ConvertibleTerms(maturity=3.0)
    with pytest.raises(ValueError, match="maturity is required"):
        ConvertibleTerms(conversion_ratio=8.0)


def test_call_periods_that_touch_do_not_overlap():
    terms = bond(call_schedule=((2.0, 3.0, 1000.0), (1.0, 2.0, 1020.0, 1.3)))
    assert terms.call_schedule == ((1.0, 2.0, 1020.0, 1.3), (2.0, 3.0, 1000.0, 0.0))


def test_coupons_run_back_from_maturity_every_period():
    terms = bond(maturity=1.3, coupon_rate=0.04, coupon_frequency=2)
    start, future = terms.coupon_schedule()
    assert future == pytest.approx((0.3, 0.8, 1.3))
    assert start == pytest.approx(-0.2)
    assert terms.coupon_amount == pytest.approx(20.0)
    assert terms.conversion_price == pytest.approx(125.0)


def test_explicit_coupon_times_take_the_latest_past_one_as_accrual_start():
    terms = bond(coupon_rate=0.04, coupon_times=(-0.7, -0.2, 0.3, 0.8, 3.0))
    assert terms.coupon_schedule() == (-0.2, (0.3, 0.8, 3.0))


def test_advanced_moves_every_time_and_keeps_the_accrual():
    terms = bond(maturity=2.0, coupon_rate=0.04, call_schedule=((0.5, 2.0, 1000.0),),
                 put_schedule=((1.0, 990.0),))
    later = terms.advanced(0.7)
    assert later.maturity == pytest.approx(1.3)
    assert later.call_schedule[0] == pytest.approx((-0.2, 1.3, 1000.0, 0.0))
    assert later.put_schedule[0] == pytest.approx((0.3, 990.0))
    start, future = later.coupon_schedule()
    assert start == pytest.approx(-0.2)
    assert future == pytest.approx((0.3, 0.8, 1.3))


def test_pack_drops_past_events_and_starts_a_running_call_period_now():
    batch = pack(bond(coupon_rate=0.04, call_schedule=((-0.5, 1.0, 1000.0, 1.3),),
                      put_schedule=((-0.1, 990.0), (2.0, 995.0))))
    assert batch.call_from.tolist() == [0.0]
    assert batch.call_level.tolist() == pytest.approx([1.3 * 125.0])
    assert batch.put_times.tolist() == [2.0]
    assert batch.coupon_times.tolist() == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])


def test_pack_refuses_what_is_not_terms():
    with pytest.raises(ValueError, match=r"terms\[1\]"):
        pack([bond(), {"conversion_ratio": 8.0}])  # type: ignore[list-item]
