import { keepPreviousData, useQuery, type UseQueryResult } from "@tanstack/react-query";
import { useSession } from "../auth/session";
import { apiRequest, type Query } from "./client";

export interface ApiQueryOptions {
  /** Poll every this many milliseconds (a running run's progress); false: fetch once. */
  refetchInterval?: number | false | (() => number | false);
  enabled?: boolean;
}

/** GET `path` of the API with the session's token, cached by path and query. */
export function useApi<T>(path: string, query: Query = {}, options: ApiQueryOptions = {}): UseQueryResult<T, Error> {
  const { token } = useSession();
  return useQuery<T, Error>({
    queryKey: [path, query, token],
    queryFn: ({ signal }) => apiRequest<T>(path, { token, query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: typeof options.refetchInterval === "function" ? () => (options.refetchInterval as () => number | false)() : options.refetchInterval,
    enabled: options.enabled,
  });
}
