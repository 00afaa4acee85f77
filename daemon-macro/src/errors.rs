//! Collecting errors, so that one build reports every mistake at once, in
//! the order of the tokens they point at.

/// Every error found so far, so that one build reports all of them, in the
/// order of the tokens they point at: errors about the attribute's keys
/// carry the key's position (`args::Arg::position`), and sort before the
/// errors about the function.
#[derive(Default)]
pub(crate) struct Errors(Vec<(usize, syn::Error)>);

impl Errors {
    /// An error about the function, reported after those about the keys.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.push_at(usize::MAX, error);
    }

    /// An error about the key at `position` in the attribute.
    pub(crate) fn push_at(&mut self, position: usize, error: syn::Error) {
        self.0.push((position, error));
    }

    pub(crate) fn into_result(mut self) -> syn::Result<()> {
        // Stable: errors about the same key keep the order they were found in.
        self.0.sort_by_key(|&(position, _)| position);
        let mut errors = self.0.into_iter().map(|(_, error)| error);
        let Some(mut all) = errors.next() else {
            return Ok(());
        };
        all.extend(errors);
        Err(all)
    }
}
