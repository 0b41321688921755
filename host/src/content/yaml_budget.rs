//! YAML read into JSON values with a budget of values: an alias repeats
//! its anchor's whole value, so a 30 KB document of repeated aliases
//! expands to gigabytes. The parser's own guard stops exponential nesting,
//! not one large anchor repeated many times; counting every value made
//! stops both at a size proportional to the text.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt;

/// Values a document may hold per byte of its text (a value takes at
/// least a byte or two to write, unless an alias repeats it).
const VALUES_PER_BYTE: usize = 4;

/// `text` as a JSON value, refused when it holds more values than
/// four per byte of text (plus a small allowance).
pub fn from_str(text: &str) -> Result<Value, serde_yaml_ng::Error> {
    let budget = Cell::new(text.len().saturating_mul(VALUES_PER_BYTE) + 1024);
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    Budgeted(&budget).deserialize(deserializer)
}

#[derive(Clone, Copy)]
struct Budgeted<'a>(&'a Cell<usize>);

impl Budgeted<'_> {
    fn spend<E: de::Error>(self) -> Result<(), E> {
        match self.0.get().checked_sub(1) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => Err(E::custom(
                "the document expands to more values than its size allows (an alias repeated many times?)",
            )),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budgeted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        // A long string repeated by aliases costs its length, not one value.
        for _ in 0..v.len() / 64 {
            self.spend()?;
        }
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.visit_str(&v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut values = Map::new();
        while let Some(key) = map.next_key_seed(self)? {
            let key = match key {
                Value::String(key) => key,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(de::Error::custom(format!(
                        "a mapping key must be a string, found {other}"
                    )));
                }
            };
            let value = map.next_value_seed(self)?;
            values.insert(key, value);
        }
        Ok(Value::Object(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_read_as_serde_would() {
        let text = "a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\n7: seven\n";
        let expected = serde_json::json!({
            "a": 1, "b": ["x", 2.5, true, null], "c": {"d": "e"}, "7": "seven"
        });
        assert_eq!(from_str(text).unwrap(), expected);
        let anchors = "base: &b {x: 1}\nother: *b\n";
        assert_eq!(
            from_str(anchors).unwrap(),
            serde_json::json!({"base": {"x": 1}, "other": {"x": 1}})
        );
    }

    #[test]
    fn an_anchor_repeated_past_the_budget_is_refused() {
        let anchor = format!("a: &a [{}]\n", vec!["x"; 2000].join(","));
        let bomb = format!("{anchor}b: [{}]\n", vec!["*a"; 2000].join(","));
        let error = from_str(&bomb).unwrap_err().to_string();
        assert!(
            error.contains("more values than its size allows"),
            "{error}"
        );
    }
}
