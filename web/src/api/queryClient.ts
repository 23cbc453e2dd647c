import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./client";

/** Retries only what may pass on a second try: the network, or a backend the server could not reach (503). */
export function shouldRetry(failures: number, error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 && failures < 2;
  return failures < 2;
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: shouldRetry, staleTime: 10_000, refetchOnWindowFocus: false } },
  });
}
