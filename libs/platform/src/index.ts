export * from './environment';
export * from './http/http-problem';
export * from './http/parse-request';
export * from './http/problem-details.filter';
export * from './http/json-body';
