//! The README's quick start is `examples/quickstart.rs`, which the build compiles: keep them
//! identical so that the README never shows code that does not build.

#[test]
fn the_readme_quick_start_is_the_quickstart_example() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```rust\n").expect("a rust block in the README") + "```rust\n".len();
    let end = start + readme[start..].find("```\n").expect("the block ends");
    let example = include_str!("../examples/quickstart.rs");
    let body = example.split_once("\n\n").expect("a header comment, then the code").1;
    assert_eq!(&readme[start..end], body, "README quick start and examples/quickstart.rs differ");
}
