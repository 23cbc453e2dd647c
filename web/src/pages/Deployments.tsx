import { Link } from "react-router";
import { useApi } from "../api/hooks";
import type { DeploymentDetail, Page } from "../api/types";
import { ErrorPanel } from "../components/ErrorPanel";
import { Loading } from "../components/Loading";
import { StateBadge, formatTime } from "../components/lists";
import { percent } from "../components/values";

/** Every deployment: its arms' shares and whether a rollout is moving. */
export default function Deployments() {
  const deployments = useApi<Page<DeploymentDetail>>("/deployments", { limit: 200 }, { refetchInterval: 5000 });
  if (deployments.error) return <ErrorPanel error={deployments.error} onRetry={() => deployments.refetch()} />;
  if (!deployments.data) return <Loading what="the deployments" />;
  return (
    <>
      <h1>Deployments</h1>
      {deployments.data.items.length === 0 ? <p>Nothing is deployed yet.</p> : (
        <table aria-label="deployments">
          <thead><tr><th>Model</th><th>Arms</th><th>Rollout</th><th>Changed</th></tr></thead>
          <tbody>
            {deployments.data.items.map((d) => (
              <tr key={d.model}>
                <td><Link to={`/deployments/${encodeURIComponent(d.model)}`}>{d.model}</Link></td>
                <td>{d.arms.map((arm) => `${arm.role} v${arm.version} ${arm.share === null ? "(mirrored)" : percent(arm.share)}`).join(" · ")}</td>
                <td>{d.rollout ? <StateBadge state={d.rollout.phase} /> : "—"}</td>
                <td>{formatTime(d.updated_at)}{d.updated_by && ` by ${d.updated_by}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
