"""The grading service: classification and grading (分类定级), both rounds, moving up (晋位升级)."""
