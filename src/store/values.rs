//! Inserts whose rows are bound one value at a time into multi-row `VALUES` on SQLite.
//!
//! The rows of [`super::rows_select`] are one JSON parameter, so the SQL text is the same
//! whatever their number; but SQLite then reads every value with its JSON functions, which costs
//! about as much as writing the rows. A `VALUES` list with a parameter per value skips that. Its
//! text changes with the number of rows, and preparing a statement of a hundred rows costs as
//! much again, so the rows go in chunks of a power of two (at most [`CHUNK`]): each table has a
//! few statements, each prepared once per connection. PostgreSQL keeps the JSON rows: its JSON
//! is cheap there, and one statement carries any number of rows.

use anyhow::Context;
use serde::ser::{self, Impossible, Serialize, Serializer};
use sqlx::AssertSqlSafe;

use super::{rows_select, statement, Conn, Json, Statement};

/// The most rows one statement of an insert carries on SQLite.
const CHUNK: usize = 64;

/// An insert, in one or more statements run in order.
pub(crate) struct Insert(Vec<Statement>);

impl Insert {
    /// Runs the statements in order.
    pub(crate) async fn execute(self, conn: &mut Conn) -> anyhow::Result<()> {
        for statement in self.0 {
            statement.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Runs the statements in order; returns what their `RETURNING` gave, in order.
    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> anyhow::Result<Vec<sqlx::any::AnyRow>> {
        let mut rows = Vec::new();
        for statement in self.0 {
            rows.extend(statement.fetch_all(&mut *conn).await?);
        }
        Ok(rows)
    }
}

impl From<Statement> for Insert {
    fn from(statement: Statement) -> Insert {
        Insert(vec![statement])
    }
}

/// `{head} <rows> {tail}`, as in `INSERT INTO t (a, b) <rows> ON CONFLICT DO NOTHING`: each
/// row serializes as a tuple of `columns.len()` scalars (a number, a string, a bool, or none
/// for NULL), and they are inserted in their order.
pub(crate) fn insert<T: Serialize>(
    postgres: bool,
    head: &str,
    columns: &[Json],
    rows: &[T],
    tail: &str,
) -> anyhow::Result<Insert> {
    if postgres || rows.is_empty() {
        let sql = format!("{head} {} {tail}", rows_select(postgres, columns));
        return Ok(Insert(vec![statement(sql, rows)?]));
    }
    let mut statements = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        // The largest power of two that fits, up to `CHUNK`.
        let size = CHUNK.min(1 << rest.len().ilog2());
        let (chunk, after) = rest.split_at(size);
        statements.push(chunk_statement(head, columns.len(), chunk, tail)?);
        rest = after;
    }
    Ok(Insert(statements))
}

/// One statement of [`insert`] on SQLite: `{head} VALUES (?, …), … {tail}` with the rows bound.
fn chunk_statement<T: Serialize>(head: &str, columns: usize, rows: &[T], tail: &str) -> anyhow::Result<Statement> {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let sql = format!("{head} VALUES {} {tail}", vec![row.as_str(); rows.len()].join(", "));
    let mut bound = Bound {
        query: sqlx::query(AssertSqlSafe(sql)),
        values: 0,
    };
    for row in rows {
        let before = bound.values;
        row.serialize(RowOf(&mut bound))
            .context("binding the rows of an insert")?;
        anyhow::ensure!(
            bound.values - before == columns,
            "a row of {} values for {} columns",
            bound.values - before,
            columns
        );
    }
    Ok(bound.query)
}

/// The statement being bound, and how many values it has.
struct Bound {
    query: Statement,
    values: usize,
}

impl Bound {
    fn bind<'t, T: sqlx::Encode<'t, sqlx::Any> + sqlx::Type<sqlx::Any>>(&mut self, value: T) -> Result<(), Error> {
        self.query.try_bind(value).map_err(|e| Error(e.to_string()))?;
        self.values += 1;
        Ok(())
    }
}

/// Why a row could not be bound.
#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        Error(message.to_string())
    }
}

fn not_a(what: &str) -> Error {
    Error(format!("{what} is not a row of values"))
}

/// One row: a tuple (or a sequence) whose elements are bound as [`ValueOf`].
struct RowOf<'b>(&'b mut Bound);

impl ser::SerializeTuple for RowOf<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Error> {
        value.serialize(ValueOf(self.0))
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeSeq for RowOf<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Error> {
        value.serialize(ValueOf(self.0))
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Everything but a tuple or a sequence is refused as a row.
macro_rules! refuse {
    ($what:literal: $($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<Self::Ok, Error> {
            Err(not_a($what))
        })*
    };
}

impl<'b> Serializer for RowOf<'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = RowOf<'b>;
    type SerializeTuple = RowOf<'b>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_tuple(self, _: usize) -> Result<RowOf<'b>, Error> {
        Ok(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<RowOf<'b>, Error> {
        Ok(self)
    }

    refuse!("a scalar": serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
        serialize_f32(f32), serialize_f64(f64), serialize_char(char), serialize_str(&str),
        serialize_bytes(&[u8]), serialize_none(), serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str));

    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<(), Error> {
        Err(not_a("an option"))
    }

    fn serialize_newtype_struct<V: Serialize + ?Sized>(self, _: &'static str, value: &V) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Error> {
        Err(not_a("an enum"))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a("a tuple struct"))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a("an enum"))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a("a map"))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a("a struct"))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a("an enum"))
    }
}

/// One value of a row, bound as SQLite stores what `->>` reads from JSON: integers (and bools,
/// as 0 and 1), reals, text, and NULL for none.
struct ValueOf<'b>(&'b mut Bound);

/// Values bound as the wider type they convert to without loss.
macro_rules! widen {
    ($to:ty: $($name:ident($from:ty)),* $(,)?) => {
        $(fn $name(self, v: $from) -> Result<(), Error> {
            self.0.bind(<$to>::from(v))
        })*
    };
}

/// Compound values are refused as a column's value.
macro_rules! refuse_compound {
    ($($name:ident($($arg:ty),*) -> $out:ty),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$out, Error> {
            Err(Error("a column's value must be a scalar".into()))
        })*
    };
}

impl Serializer for ValueOf<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    widen!(i64: serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32));
    widen!(f64: serialize_f32(f32));

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.0.bind(v)
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        let v = i64::try_from(v).map_err(|_| Error(format!("{v} does not fit a SQL integer")))?;
        self.0.bind(v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.0.bind(v)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.0.bind(v.to_string())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.bind(v)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error("bytes are not bound as a column's value".into()))
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.0.bind(None::<i64>)
    }

    fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.0.bind(None::<i64>)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.0.bind(None::<i64>)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.0.bind(variant)
    }

    fn serialize_newtype_struct<V: Serialize + ?Sized>(self, _: &'static str, value: &V) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Error> {
        Err(Error("a column's value must be a scalar".into()))
    }

    refuse_compound!(
        serialize_seq(Option<usize>) -> Self::SerializeSeq,
        serialize_tuple(usize) -> Self::SerializeTuple,
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct,
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant,
        serialize_map(Option<usize>) -> Self::SerializeMap,
        serialize_struct(&'static str, usize) -> Self::SerializeStruct,
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant,
    );
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::store::Store;

    const COLUMNS: [Json; 4] = [Json::Text, Json::Int, Json::Real, Json::Int];

    /// 100 rows go in three statements (64, 32 and 4 rows) and come back in their order with
    /// their values as SQLite stores them: text, integers, reals, bools as 0 and 1, NULL for none.
    #[tokio::test]
    async fn rows_go_in_chunks_in_order_with_their_values() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut tx = store.begin().await.unwrap();
        sqlx::query("CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER, x REAL, flag INTEGER)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let rows: Vec<(String, Option<i64>, f64, bool)> = (0..100)
            .map(|i| {
                (
                    format!("row {i} ✉"),
                    (i % 3 != 0).then_some(i),
                    i as f64 / 4.0,
                    i % 2 == 0,
                )
            })
            .collect();
        let insert = insert(
            false,
            "INSERT INTO t (name, n, x, flag)",
            &COLUMNS,
            &rows,
            "RETURNING id, name",
        )
        .unwrap();
        assert_eq!(insert.0.len(), 3);
        let returned = insert.fetch_all(&mut tx).await.unwrap();
        let names: Vec<String> = returned.iter().map(|r| r.get::<String, _>(1)).collect();
        let wanted: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        assert_eq!(names, wanted);
        let ids: Vec<i64> = returned.iter().map(|r| r.get::<i64, _>(0)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let stored: Vec<(String, Option<i64>, f64, i64, String)> =
            sqlx::query_as("SELECT name, n, x, flag, typeof(n) FROM t ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        for (row, got) in rows.iter().zip(&stored) {
            assert_eq!((&got.0, got.1, got.2, got.3), (&row.0, row.1, row.2, i64::from(row.3)));
            assert_eq!(got.4, if row.1.is_some() { "integer" } else { "null" });
        }
    }

    /// A row of the wrong width, or a value that is no scalar, is an error, not a shifted insert.
    #[test]
    fn a_row_that_does_not_fit_is_refused() {
        let short = [("a", 1_i64)];
        let error = insert(false, "INSERT INTO t (name, n, x, flag)", &COLUMNS, &short, "")
            .err()
            .unwrap();
        assert_eq!(error.to_string(), "a row of 2 values for 4 columns");
        let nested = [("a", 1_i64, (1.0_f64, 2.0_f64), true)];
        let error = insert(false, "INSERT INTO t (name, n, x, flag)", &COLUMNS, &nested, "")
            .err()
            .unwrap();
        assert!(format!("{error:#}").contains("must be a scalar"), "{error:#}");
        let scalar = [7_i64];
        assert!(insert(false, "INSERT INTO t (n)", &[Json::Int], &scalar, "").is_err());
    }
}
