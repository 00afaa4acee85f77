//! stub
/// stub
#[derive(Debug)]
pub struct Error;
impl Error {
    /// stub
    pub fn exit(&self) -> ! { std::process::exit(71) }
}
