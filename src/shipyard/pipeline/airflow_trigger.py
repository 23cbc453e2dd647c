"""Start a pipeline's Airflow DAG through Airflow 3's REST API (``POST /api/v2/dags/{id}/dagRuns``).

Used by the drift-triggered retrain when ``SHIPYARD_RETRAIN_VIA=airflow``: the DAG
exported with ``shipyard airflow export`` runs on the Airflow workers instead of the
pipeline running inside the monitor's process.

Settings: ``SHIPYARD_AIRFLOW_URL`` (the API server, e.g. ``http://airflow:8080``),
and either ``SHIPYARD_AIRFLOW_TOKEN`` (a bearer token) or
``SHIPYARD_AIRFLOW_USERNAME`` + ``SHIPYARD_AIRFLOW_PASSWORD`` (exchanged at
``/auth/token``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from shipyard.errors import BackendError, SpecError

RETRAIN_VIA = ("local", "airflow")


@dataclass(frozen=True, kw_only=True)
class AirflowApi:
    url: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> AirflowApi:
        env = os.environ if env is None else env
        url = env.get("SHIPYARD_AIRFLOW_URL")
        if not url:
            raise SpecError("SHIPYARD_RETRAIN_VIA=airflow needs SHIPYARD_AIRFLOW_URL, the Airflow API server",
                            headline="invalid setting", hint="e.g. SHIPYARD_AIRFLOW_URL=http://airflow:8080")
        return cls(url=url.rstrip("/"), token=env.get("SHIPYARD_AIRFLOW_TOKEN") or None,
                   username=env.get("SHIPYARD_AIRFLOW_USERNAME") or None,
                   password=env.get("SHIPYARD_AIRFLOW_PASSWORD") or None)

    def _token(self, client) -> str | None:
        if self.token:
            return self.token
        if self.username is None:
            return None
        answer = client.post(f"{self.url}/auth/token", json={"username": self.username, "password": self.password})
        _check(answer, "sign in to")
        return answer.json()["access_token"]

    def trigger(self, dag_id: str, *, conf: dict[str, Any], note: str | None = None) -> dict[str, Any]:
        """Queue a DAG run now; Airflow's answer (``dag_run_id``, ``state``...)."""
        import httpx

        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                token = self._token(client)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                body: dict[str, Any] = {"logical_date": None, "conf": conf}
                if note:
                    body["note"] = note
                answer = client.post(f"{self.url}/api/v2/dags/{dag_id}/dagRuns", json=body, headers=headers)
                _check(answer, f"trigger DAG {dag_id} on")
                return answer.json()
        except httpx.HTTPError as exc:
            raise BackendError(f"the Airflow API server at {self.url} did not answer ({type(exc).__name__}: {exc})",
                               headline="Airflow unreachable",
                               hint="check SHIPYARD_AIRFLOW_URL and that the Airflow API server runs") from None


def _check(answer, doing: str) -> None:
    if answer.status_code < 400:
        return
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = answer.text[:200]
    hint = {401: "check SHIPYARD_AIRFLOW_TOKEN or the username and password",
            403: "the Airflow user may not trigger this DAG",
            404: "export the DAG with `shipyard airflow export` into Airflow's dags folder, and let Airflow "
                 "parse it"}.get(answer.status_code, "see the Airflow API server's log")
    raise BackendError(f"could not {doing} Airflow at {answer.url}: HTTP {answer.status_code} {detail}",
                       headline="Airflow refused", hint=hint)


def retrain_via(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    via = env.get("SHIPYARD_RETRAIN_VIA") or "local"
    if via not in RETRAIN_VIA:
        raise SpecError(f"SHIPYARD_RETRAIN_VIA={via} is not one of {', '.join(RETRAIN_VIA)}",
                        headline="invalid setting", hint="local: retrain in this process; airflow: trigger the "
                                                         "pipeline's Airflow DAG")
    return via
