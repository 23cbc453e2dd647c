import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useSession } from "../auth/session";
import { apiRequest, type RequestOptions } from "./client";

/** A change through the API (POST/PUT) with the session's token; every cached answer is refreshed after it. */
export function useApiChange<T>(path: string, method: NonNullable<RequestOptions["method"]> = "POST") {
  const { token } = useSession();
  const queries = useQueryClient();
  return useMutation<T, Error, unknown>({
    mutationFn: (body) => apiRequest<T>(path, { token, method, body }),
    onSettled: () => queries.invalidateQueries(),
  });
}
