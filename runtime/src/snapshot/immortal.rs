//! Immortal snapshot objects: the objects a snapshot holds get CPython's
//! immortal reference count, written into the memory the snapshot keeps.
//!
//! Every call touches thousands of the snapshot's objects (modules, their
//! functions, types, interned names). A mortal object's reference count goes
//! up and down as it is used, so each call writes the pages those counts sit
//! on, and a reset in place copies them back. An immortal one's count is
//! never written (CPython 3.12+, PEP 683). The snapshot holds them all until
//! the instance ends anyway, so what a script can observe does not change
//! but for `sys.getrefcount`; and since the counts are in the snapshot
//! itself, a fresh instance and one reset in place start from the same
//! bytes.
//!
//! The guest lists the objects (address, and its type's address); the
//! guest is not trusted to be right, so each is checked here against the
//! memory before it is written: in bounds, aligned, its type word the one
//! listed, its count a mortal one.

/// One object the guest listed: its address and its type's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    address: u32,
    type_address: u32,
}

/// CPython's reference count for an object made immortal at run time on a
/// 32-bit build (`_Py_IMMORTAL_INITIAL_REFCNT`, `5 << 28`): any count from
/// `_Py_IMMORTAL_MINIMUM_REFCNT` (`1 << 30`) up is immortal, and this one
/// stays so however many increments and decrements it meets.
const IMMORTAL: u32 = 5 << 28;
/// Counts from here up are immortal already.
const IMMORTAL_MINIMUM: u32 = 1 << 30;

/// The objects in the preload answer's `objects` list: address and type
/// address, flattened.
pub(crate) fn listed(objects: &serde_json::Value) -> anyhow::Result<Vec<Listed>> {
    let flat = objects
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("the preload answer has no `objects` list"))?;
    anyhow::ensure!(
        flat.len().is_multiple_of(2),
        "the preload answer's `objects` list has an odd length ({})",
        flat.len()
    );
    let word = |value: &serde_json::Value| {
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| anyhow::anyhow!("`objects` holds {value}, not a 32-bit address"))
    };
    flat.chunks_exact(2)
        .map(|pair| {
            Ok(Listed {
                address: word(&pair[0])?,
                type_address: word(&pair[1])?,
            })
        })
        .collect()
}

/// What [`make_immortal`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Made {
    /// Objects whose count was set.
    pub immortal: usize,
    /// Objects left alone: out of bounds, misaligned, with another type
    /// word, or with a count that is not a mortal object's.
    pub skipped: usize,
}

/// Give each of `objects` that checks out in `memory` the immortal count.
pub(crate) fn make_immortal(memory: &mut [u8], objects: &[Listed]) -> Made {
    let mut made = Made::default();
    for object in objects {
        if set_immortal(memory, object) {
            made.immortal += 1;
        } else {
            made.skipped += 1;
        }
    }
    made
}

/// `ob_refcnt` is the object's first word and `ob_type` its second, both
/// 32-bit little-endian on wasm32.
fn set_immortal(memory: &mut [u8], object: &Listed) -> bool {
    let Ok(at) = usize::try_from(object.address) else {
        return false;
    };
    if at == 0 || !at.is_multiple_of(4) {
        return false;
    }
    let Some(header) = at.checked_add(8).and_then(|end| memory.get_mut(at..end)) else {
        return false;
    };
    let count = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let type_word = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if type_word != object.type_address || count == 0 || count >= IMMORTAL_MINIMUM {
        return false;
    }
    header[..4].copy_from_slice(&IMMORTAL.to_le_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_with(objects: &[(u32, u32, u32)]) -> Vec<u8> {
        let mut memory = vec![0u8; 256];
        for &(address, count, type_address) in objects {
            let at = address as usize;
            memory[at..at + 4].copy_from_slice(&count.to_le_bytes());
            memory[at + 4..at + 8].copy_from_slice(&type_address.to_le_bytes());
        }
        memory
    }

    fn count_at(memory: &[u8], address: usize) -> u32 {
        u32::from_le_bytes(memory[address..address + 4].try_into().unwrap())
    }

    #[test]
    fn only_objects_that_check_out_are_made_immortal() {
        let mut memory = memory_with(&[(16, 3, 200), (32, 1, 200), (48, IMMORTAL_MINIMUM, 200)]);
        let listed = [
            Listed {
                address: 16,
                type_address: 200,
            },
            // Another type word than the one listed: left alone.
            Listed {
                address: 32,
                type_address: 204,
            },
            // Immortal already.
            Listed {
                address: 48,
                type_address: 200,
            },
            // Misaligned, out of bounds, null.
            Listed {
                address: 18,
                type_address: 200,
            },
            Listed {
                address: 252,
                type_address: 200,
            },
            Listed {
                address: 0,
                type_address: 0,
            },
        ];
        let before = memory.clone();
        let made = make_immortal(&mut memory, &listed);
        assert_eq!(
            made,
            Made {
                immortal: 1,
                skipped: 5
            }
        );
        assert_eq!(count_at(&memory, 16), IMMORTAL);
        assert!(count_at(&memory, 16) >= IMMORTAL_MINIMUM);
        // Nothing but that one count changed.
        let changed: Vec<usize> = (0..memory.len())
            .filter(|&i| memory[i] != before[i])
            .collect();
        assert!(changed.iter().all(|i| (16..20).contains(i)), "{changed:?}");
    }

    #[test]
    fn the_answer_list_is_read_as_pairs_of_32_bit_addresses() {
        let pairs = listed(&serde_json::json!([16, 200, 32, 204])).unwrap();
        assert_eq!(
            pairs,
            [
                Listed {
                    address: 16,
                    type_address: 200
                },
                Listed {
                    address: 32,
                    type_address: 204
                },
            ]
        );
        assert!(listed(&serde_json::json!([16, 200, 32])).is_err());
        assert!(listed(&serde_json::json!([16, -1])).is_err());
        assert!(listed(&serde_json::json!([16, 1u64 << 32])).is_err());
        assert!(listed(&serde_json::json!(null)).is_err());
    }
}
