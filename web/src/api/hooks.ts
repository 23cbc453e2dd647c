import { keepPreviousData, useQuery, type UseQueryResult } from "@tanstack/react-query";
import { useSession } from "../auth/session";
import { apiRequest, type Query } from "./client";

export interface ApiQueryOptions<T> {
  /** Poll every this many milliseconds (a running run's progress), possibly by the last answer; false: don't. */
  refetchInterval?: number | false | ((data: T | undefined) => number | false);
  enabled?: boolean;
}

/** GET `path` of the API with the session's token, cached by path and query. */
export function useApi<T>(path: string, query: Query = {}, options: ApiQueryOptions<T> = {}): UseQueryResult<T, Error> {
  const { token } = useSession();
  const interval = options.refetchInterval;
  return useQuery<T, Error>({
    queryKey: [path, query, token],
    queryFn: ({ signal }) => apiRequest<T>(path, { token, query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: typeof interval === "function" ? (current) => interval(current.state.data) : interval,
    enabled: options.enabled,
  });
}
