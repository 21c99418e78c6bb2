/** RFC 9457 problem details, as both HTTP APIs and command replies carry them. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  /** Stable, machine-readable reason, e.g. `ORDER_NOT_DRAFT`. */
  code: string;
  detail?: string;
  instance?: string;
  /** Per-field validation errors, for `code: VALIDATION_FAILED`. */
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
