// Run by the mongo image's entrypoint (mongosh) once, when the data volume is empty.
// The query service gets readWrite on its own database only; the root user stays for operators.
const databaseName = process.env.ORDERS_QUERY_MONGO_DATABASE;
const user = process.env.ORDERS_QUERY_MONGO_USER;
const password = process.env.ORDERS_QUERY_MONGO_PASSWORD;
if (!databaseName || !user || !password) {
  throw new Error(
    'Set ORDERS_QUERY_MONGO_DATABASE, ORDERS_QUERY_MONGO_USER and ORDERS_QUERY_MONGO_PASSWORD',
  );
}
db.getSiblingDB(databaseName).createUser({
  user,
  pwd: password,
  roles: [{ role: 'readWrite', db: databaseName }],
});
