"""The batcher coalesces concurrent requests and gives every caller exactly its own rows."""

import asyncio

import numpy as np
import pandas as pd
import pytest

from shipyard.serving.batching import Batcher


def echo_predict(calls):
    def predict(frame):
        calls.append(len(frame))
        return {"predict": frame["request"].to_numpy() * 1000 + frame["row"].to_numpy(),
                "predict_proba": np.column_stack([frame["row"].to_numpy(), frame["request"].to_numpy()])}
    return predict


def request_frame(request: int, rows: int) -> pd.DataFrame:
    return pd.DataFrame({"request": [request] * rows, "row": list(range(rows))})


def test_many_concurrent_requests_of_different_sizes_get_their_own_rows():
    calls = []
    batcher = Batcher(echo_predict(calls), max_rows=64, max_wait_us=2000)
    sizes = [1 + (i * 7) % 23 for i in range(200)]

    async def scenario():
        results = await asyncio.gather(*(batcher.submit(request_frame(i, n)) for i, n in enumerate(sizes)))
        batcher.close()
        return results

    results = asyncio.run(scenario())
    for i, (size, result) in enumerate(zip(sizes, results)):
        assert result["predict"].tolist() == [i * 1000 + r for r in range(size)]
        assert result["predict_proba"].shape == (size, 2)
        assert result["predict_proba"][:, 1].tolist() == [i] * size
    assert sum(calls) == sum(sizes)
    assert len(calls) < len(sizes) / 3  # requests were actually coalesced


def test_a_lone_request_is_not_held_longer_than_max_wait():
    calls = []
    batcher = Batcher(echo_predict(calls), max_rows=64, max_wait_us=100)

    async def scenario():
        result = await asyncio.wait_for(batcher.submit(request_frame(5, 3)), timeout=5)
        batcher.close()
        return result

    assert asyncio.run(scenario())["predict"].tolist() == [5000, 5001, 5002]
    assert calls == [3]


def test_a_failing_predict_fails_its_batch_and_the_batcher_goes_on():
    state = {"fail": True}

    def predict(frame):
        if state["fail"]:
            state["fail"] = False
            raise ValueError("model exploded")
        return {"predict": frame["row"].to_numpy()}

    batcher = Batcher(predict, max_wait_us=100)

    async def scenario():
        with pytest.raises(ValueError, match="model exploded"):
            await batcher.submit(request_frame(1, 2))
        result = await batcher.submit(request_frame(2, 2))
        batcher.close()
        return result

    assert asyncio.run(scenario())["predict"].tolist() == [0, 1]


def test_a_request_the_model_refuses_fails_alone_not_the_requests_batched_with_it():
    calls = []

    def predict(frame):  # refuses any frame holding a row of request 13, like a strict model an unseen category
        calls.append(sorted(set(frame["request"])))
        if (frame["request"] == 13).any():
            raise ValueError("request 13's rows are invalid")
        return echo_predict([])(frame)

    batched = []
    batcher = Batcher(predict, max_rows=64, max_wait_us=50_000, on_batch=batched.append)

    async def scenario():
        results = await asyncio.gather(*(batcher.submit(request_frame(i, 2)) for i in range(10, 16)),
                                       return_exceptions=True)
        batcher.close()
        return results

    results = asyncio.run(scenario())
    assert calls[0] == [10, 11, 12, 13, 14, 15], "the six requests were coalesced first"
    for request, result in zip(range(10, 16), results):
        if request == 13:
            assert isinstance(result, ValueError)
        else:
            assert result["predict"].tolist() == [request * 1000, request * 1000 + 1]
    assert batched == [2] * 5  # the five good requests, each predicted again on its own


def test_a_batch_up_to_inline_rows_is_predicted_on_the_event_loop_and_a_larger_one_on_the_thread():
    import threading

    threads = []

    def predict(frame):
        threads.append((len(frame), threading.current_thread()))
        return echo_predict([])(frame)

    batcher = Batcher(predict, max_rows=64, inline_rows=1)

    async def scenario():
        one = await batcher.submit(request_frame(1, 1))
        three = await batcher.submit(request_frame(2, 3))
        batcher.close()
        return one, three

    one, three = asyncio.run(scenario())
    assert one["predict"].tolist() == [1000] and three["predict"].tolist() == [2000, 2001, 2002]
    assert [rows for rows, _ in threads] == [1, 3]
    assert threads[0][1] is threading.main_thread() and threads[1][1] is not threading.main_thread()
