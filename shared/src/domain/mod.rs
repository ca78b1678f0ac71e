pub mod input;
pub mod model;
pub mod view;
