from api.ratelimit import RateLimiter
from tests.api.conftest import ORIGIN


def test_bucket_allows_a_burst_then_the_sustained_rate():
    rl = RateLimiter(per_minute=60, burst=3)
    assert [rl.check("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rl.check("a", now=0.0) > 0.9
    assert rl.check("b", now=0.0) == 0.0  # keys are independent
    assert rl.check("a", now=1.01) == 0.0  # one token back after a second


def test_idle_keys_are_forgotten_beyond_the_cap():
    rl = RateLimiter(per_minute=60, burst=1, max_keys=10)
    for i in range(25):
        rl.check(str(i), now=float(i))
    assert len(rl._buckets) <= 10


def test_login_form_is_rate_limited_per_address(site):
    codes = [site.client.post("/login", content=f"username=u{i}&password=y",
                              headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN}
                              ).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429
