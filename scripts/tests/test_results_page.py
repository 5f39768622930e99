import results_page


def test_sections_are_replaced_in_place_and_new_ones_placed(tmp_path):
    page = tmp_path / "results.md"
    results_page.replace_section(page, "<!-- a:begin -->", "<!-- a:end -->", "<!-- a:begin -->\nA1\n<!-- a:end -->")
    assert page.read_text() == results_page.HEADER + "\n<!-- a:begin -->\nA1\n<!-- a:end -->\n"
    results_page.replace_section(page, "<!-- z:begin -->", "<!-- z:end -->", "<!-- z:begin -->\nZ\n<!-- z:end -->")
    # A new section before another one; an unknown `before` appends it.
    results_page.replace_section(page, "<!-- b:begin -->", "<!-- b:end -->", "<!-- b:begin -->\nB\n<!-- b:end -->",
                                 before="<!-- z:begin -->")
    results_page.replace_section(page, "<!-- c:begin -->", "<!-- c:end -->", "<!-- c:begin -->\nC\n<!-- c:end -->",
                                 before="<!-- nowhere:begin -->")
    results_page.replace_section(page, "<!-- a:begin -->", "<!-- a:end -->", "<!-- a:begin -->\nA2\n<!-- a:end -->",
                                 before="<!-- z:begin -->")
    text = page.read_text()
    assert text == (results_page.HEADER + "\n<!-- a:begin -->\nA2\n<!-- a:end -->\n\n<!-- b:begin -->\nB\n<!-- b:end -->\n\n"
                    "<!-- z:begin -->\nZ\n<!-- z:end -->\n\n<!-- c:begin -->\nC\n<!-- c:end -->\n")
