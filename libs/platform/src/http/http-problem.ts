import type { ProblemDetails } from '@orders/contracts';

/** An error that the problem-details filter answers as `application/problem+json`. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }

  toProblem(instance?: string): ProblemDetails {
    return {
      type: `https://orders-cqrs.dev/problems/${this.code.toLowerCase().replaceAll('_', '-')}`,
      title: this.title,
      status: this.status,
      code: this.code,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(instance === undefined ? {} : { instance }),
      ...this.extensions,
    };
  }
}

export function validationProblem(errors: { path: string; message: string }[]): HttpProblem {
  return new HttpProblem(400, 'VALIDATION_FAILED', 'The request is not valid', undefined, {
    errors,
  });
}
