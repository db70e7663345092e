//! Real desktops behind WorkSpaces: drivers that run a desktop per WorkSpace.
pub mod kvm;
